package controllers

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// leadingDigits is a PostgreSQL image tag's major version.
var leadingDigits = regexp.MustCompile(`^[0-9]+`)

// postgresMajor returns the major version in an image's tag, "" when it has none.
func postgresMajor(image string) string {
	if at := strings.Index(image, "@"); at >= 0 {
		image = image[:at]
	}
	slash := strings.LastIndex(image, "/")
	colon := strings.LastIndex(image, ":")
	if colon <= slash {
		return ""
	}
	return leadingDigits.FindString(image[colon+1:])
}

// guardDatabaseMajor keeps a managed database on its PostgreSQL major version when
// the effective spec asks for another one without database.allowMajorVersionUpgrade:
// the CRD refuses such a change on the Tenant itself, but it can also arrive through
// a class (a Tenant moving to another class, or leaving out its own version) or a new
// --postgres-image. The new server could not read the old data directory. It returns
// the image tag to keep, "" when the database may move.
func (r *TenantReconciler) guardDatabaseMajor(ctx context.Context, t *silov1.Tenant, obs *observation) (string, error) {
	db := t.Spec.Database
	if db == nil || db.External != nil || db.AllowMajorVersionUpgrade {
		return "", nil
	}
	s := &appsv1.StatefulSet{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: NamespaceFor(t), Name: DatabaseName}, s); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return "", nil
		}
		return "", fmt.Errorf("reading the database of %s: %w", klog.KObj(t), err)
	}
	running := ""
	for _, c := range s.Spec.Template.Spec.Containers {
		if c.Name == "postgres" {
			running = c.Image
		}
	}
	want := withTag(r.Config.Images.Postgres, db.Version)
	from, to := postgresMajor(running), postgresMajor(want)
	if running == "" || from == to {
		return "", nil
	}
	obs.block(silov1.DatabaseMajorUpgradeReason, fmt.Sprintf(
		"the database would move from PostgreSQL %s (%s) to %s (%s), which cannot read the old data directory: it stays on %s. "+
			"Upgrade the data with pg_upgrade (or a dump and restore), then set spec.database.allowMajorVersionUpgrade: true; "+
			"or set spec.database.version to a %s.x tag", from, running, to, want, running, from))
	_, tag, _ := strings.Cut(running[strings.LastIndex(running, "/")+1:], ":")
	return tag, nil
}
