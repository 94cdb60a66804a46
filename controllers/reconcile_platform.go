package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// readAppNeeds reads and checks what a real app asks of the platform before
// building: the image pull Secrets it may use, why a volume claim does not bind,
// and whether its settings are within
// the platform's allowances (a refused part is left out by the builders, and the
// Tenant says which).
func (r *TenantReconciler) readAppNeeds(ctx context.Context, bc *buildContext, obs *observation) error {
	if err := r.readPullSecrets(ctx, bc, obs); err != nil {
		return err
	}
	if err := r.readClaimProblems(ctx, bc, obs); err != nil {
		return err
	}
	if refused := platformRefusals(bc.Tenant, &bc.Config.Platform); len(refused) > 0 {
		obs.block(silov1.NotAllowedByPlatformReason, strings.Join(refused, "; ")+
			": the platform does not allow it (operator settings), so it is left out; remove it from the Tenant or ask the platform team to allow it")
	}
	return nil
}

// platformRefusals lists, deterministically, what the Tenant asks for that the
// platform's settings do not allow.
func platformRefusals(t *silov1.Tenant, p *Platform) []string {
	var out []string
	notListed := func(what string, m map[string]string, list []string) {
		for _, k := range sortedKeys(m) {
			if !keyAllowed(list, k) {
				out = append(out, fmt.Sprintf("%s key %s is not on the platform's list (%s)", what, k, listOrNone(list)))
			}
		}
	}
	if sa := t.Spec.ServiceAccount; sa != nil {
		notListed("serviceAccount.annotations", sa.Annotations, p.ServiceAccountAnnotationKeys)
	}
	if pm := t.Spec.PodMetadata; pm != nil {
		notListed("podMetadata.labels", pm.Labels, p.PodLabelKeys)
		notListed("podMetadata.annotations", pm.Annotations, p.PodAnnotationKeys)
	}
	if in := t.Spec.App.Ingress; in != nil && in.Issuer != "" && !p.issuerAllowed(in.Issuer) {
		out = append(out, fmt.Sprintf("app.ingress.issuer %s is not one of the platform's ClusterIssuers (%s)",
			in.Issuer, strings.Join(p.ClusterIssuers, ", ")))
	}
	extras := map[string]*silov1.PodExtras{"app": &t.Spec.App.PodExtras}
	if t.Spec.Workers != nil {
		extras["workers"] = &t.Spec.Workers.PodExtras
	}
	for _, who := range sortedKeys(extras) {
		for i := range extras[who].Volumes {
			v := &extras[who].Volumes[i]
			if kind := extraVolumeType(v); !slices.Contains(p.VolumeTypes, kind) {
				out = append(out, fmt.Sprintf("%s.volumes %s is a %s volume, not a kind the platform allows (%s)",
					who, v.Name, kind, listOrNone(p.VolumeTypes)))
			}
		}
	}
	for _, e := range t.Spec.Network.Egress {
		if _, err := egressExcepts(e.CIDR, p.ClusterCIDRs); err != nil {
			out = append(out, err.Error())
		}
	}
	return out
}

// listOrNone joins a platform list for a message.
func listOrNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}

// allowedEntries returns the entries of m whose keys are on list, or nil.
func allowedEntries(m map[string]string, list []string) map[string]string {
	var out map[string]string
	for k, v := range m {
		if keyAllowed(list, k) {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}
