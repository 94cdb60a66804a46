package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// revisionHistoryLimit is how many revisions of a class are kept besides those a
// Tenant still runs or is moving to (as a DaemonSet keeps its history).
const revisionHistoryLimit = 10

// revisionHash identifies a template: a short hash of its JSON encoding (fields left
// out are absent, so the same template always gives the same hash).
func revisionHash(template *silov1.TenantSpec) (string, error) {
	raw, err := json.Marshal(template)
	if err != nil {
		return "", fmt.Errorf("encoding the class template: %w", err)
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:4]), nil
}

// revisionName names the ControllerRevision of a class's revision. The class name is
// part of it, so two classes with the same template keep separate histories.
func revisionName(class, revision string) string { return class + "-" + revision }

// buildRevision returns the ControllerRevision holding a revision of class: its
// template, numbered after the class's earlier revisions, owned by the class (so the
// garbage collector removes it with the class). It lives in the operator's namespace.
func buildRevision(class *silov1.TenantClass, revision string, number int64, namespace string) (*appsv1.ControllerRevision, error) {
	raw, err := json.Marshal(&class.Spec.Template)
	if err != nil {
		return nil, fmt.Errorf("encoding the template of TenantClass %s: %w", class.Name, err)
	}
	return &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name:      revisionName(class.Name, revision),
			Namespace: namespace,
			Labels: map[string]string{
				silov1.ManagedByLabel: silov1.ManagedByValue,
				silov1.ClassLabel:     class.Name,
			},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion:         silov1.GroupVersion.String(),
				Kind:               "TenantClass",
				Name:               class.Name,
				UID:                class.UID,
				Controller:         ptrTo(true),
				BlockOwnerDeletion: ptrTo(true),
			}},
		},
		Data:     runtime.RawExtension{Raw: raw},
		Revision: number,
	}, nil
}

// revisionTemplate decodes the template a ControllerRevision holds.
func revisionTemplate(cr *appsv1.ControllerRevision) (*silov1.TenantSpec, error) {
	spec := &silov1.TenantSpec{}
	if err := json.Unmarshal(cr.Data.Raw, spec); err != nil {
		return nil, fmt.Errorf("decoding revision %s: %w", cr.Name, err)
	}
	return spec, nil
}

// staleRevisions returns the revisions to delete: all but the newest
// revisionHistoryLimit, never one that is in use (the current revision, or one a
// Tenant runs or is asked to run).
func staleRevisions(revs []appsv1.ControllerRevision, inUse map[string]bool) []*appsv1.ControllerRevision {
	sorted := make([]*appsv1.ControllerRevision, 0, len(revs))
	for i := range revs {
		sorted = append(sorted, &revs[i])
	}
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].Revision != sorted[j].Revision {
			return sorted[i].Revision > sorted[j].Revision
		}
		return sorted[i].Name < sorted[j].Name
	})
	var out []*appsv1.ControllerRevision
	kept := 0
	for _, cr := range sorted {
		if inUse[cr.Name] {
			continue
		}
		if kept < revisionHistoryLimit {
			kept++
			continue
		}
		out = append(out, cr)
	}
	return out
}

// targetValue is the value of a Tenant's TargetRevisionAnnotation: the revision, and
// when the rollout asked for it.
func targetValue(revision string, at time.Time) string {
	return revision + "@" + at.UTC().Format(time.RFC3339)
}

// target reads a Tenant's TargetRevisionAnnotation: the revision the rollout asks it
// to run and since when. ok is false when there is none (or it cannot be read).
func target(t *silov1.Tenant) (revision string, at time.Time, ok bool) {
	v, found := t.Annotations[silov1.TargetRevisionAnnotation]
	if !found {
		return "", time.Time{}, false
	}
	rev, ts, _ := strings.Cut(v, "@")
	at, err := time.Parse(time.RFC3339, ts)
	if rev == "" || err != nil {
		return "", time.Time{}, false
	}
	return rev, at, true
}
