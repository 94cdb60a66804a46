package controllers

import (
	"crypto/sha256"
	"encoding/hex"

	corev1 "k8s.io/api/core/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
)

// SettingsSecretName is the Secret of connection settings (DATABASE_URL, REDIS_URL,
// NATS_URL, STORAGE_PATH, ...) that the app and the workers load with envFrom.
const SettingsSecretName = "connection-settings"

// SettingsHashAnnotation on the app's and the workers' pod templates holds a hash of
// the connection settings, so a change of settings rolls their pods (environment
// variables are read once, at start).
const SettingsHashAnnotation = "silo.dev/settings-hash"

// settingsData returns the tenant's connection settings: what every enabled component
// contributes, in component order (a later component's key wins, deterministically).
// Builders read them from buildContext.Settings.
func settingsData(bc *buildContext) map[string][]byte {
	out := map[string][]byte{}
	for i := range components {
		c := &components[i]
		if !c.enabled(bc.Tenant) {
			continue
		}
		s := c.connectionSettings(bc)
		for _, k := range sortedKeys(s) {
			out[k] = []byte(s[k])
		}
	}
	return out
}

// settingsHash returns a short hash of connection settings.
func settingsHash(data map[string][]byte) string {
	h := sha256.New()
	for _, k := range sortedKeys(data) {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write(data[k])
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// buildSettings returns the Secret of connection settings. It exists (possibly empty)
// for every Tenant, so the app's envFrom always resolves.
func buildSettings(bc *buildContext) *corev1ac.SecretApplyConfiguration {
	t := bc.Tenant
	s := corev1ac.Secret(SettingsSecretName, NamespaceFor(t)).
		WithLabels(componentLabels(t, "settings")).
		WithOwnerReferences(ownerRef(t)).
		WithType(corev1.SecretTypeOpaque)
	if data := bc.Settings; len(data) > 0 {
		s.WithData(data)
	}
	return s
}

// settingsEnvFrom loads the connection settings into a container's environment.
func settingsEnvFrom() *corev1ac.EnvFromSourceApplyConfiguration {
	return corev1ac.EnvFromSource().WithSecretRef(corev1ac.SecretEnvSource().WithName(SettingsSecretName))
}
