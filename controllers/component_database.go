package controllers

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// DatabaseName names the database's StatefulSet and Service.
const DatabaseName = "database"

const (
	postgresPort int32 = 5432
	// postgresDB and postgresUser are the database and role the app uses.
	postgresDB   = "app"
	postgresUser = "app"
	// postgresData is where the volume is mounted; PGDATA is a folder below it, as
	// the volume's root may hold lost+found.
	postgresData = "/var/lib/postgresql/data"
)

var defaultDatabaseStorage = resource.MustParse("10Gi")

// databaseService is a PostgreSQL server on its own volume: a StatefulSet and its Service.
// The superuser's password comes from the generated credentials; the image uses it
// only when it initialises an empty volume.
var databaseService = managedService{
	name: DatabaseName,
	spec: func(t *silov1.Tenant) *serviceSpec {
		db := t.Spec.Database
		if db == nil {
			return nil
		}
		return &serviceSpec{version: db.Version, storage: db.Storage, resources: db.Resources, external: db.External}
	},
	image:       func(i *Images) string { return i.Postgres },
	container:   "postgres",
	uid:         postgresUID,
	port:        namedPort{"postgres", postgresPort},
	user:        postgresUser,
	userEnv:     "POSTGRES_USER",
	passwordEnv: "POSTGRES_PASSWORD",
	env: []corev1.EnvVar{
		{Name: "POSTGRES_DB", Value: postgresDB},
		{Name: "PGDATA", Value: postgresData + "/pgdata"},
	},
	dataPath:       postgresData,
	defaultStorage: &defaultDatabaseStorage,
	scratch:        []namedPath{{"run", "/var/run/postgresql"}, {tmpVolume, tmpPath}},
	probe: func() *corev1ac.ProbeApplyConfiguration {
		return corev1ac.Probe().WithExec(corev1ac.ExecAction().WithCommand(
			"pg_isready", "-h", "127.0.0.1", "-p", strconv.Itoa(int(postgresPort)), "-U", postgresUser, "-d", postgresDB))
	},
	urlKey: "DATABASE_URL", scheme: "postgres", urlPath: "/" + postgresDB, urlQuery: "sslmode=disable",
	endpointPath: "/" + postgresDB,
	moreSettings: databaseSettings,
}

func componentDatabase() component { return databaseService.component() }

// buildDatabase returns the database's StatefulSet and Service.
func buildDatabase(bc *buildContext) []runtime.ApplyConfiguration { return databaseService.build(bc) }

// databaseSettings are the libpq variables beside DATABASE_URL, so both URL-driven
// and PG*-driven clients connect without configuration.
func databaseSettings(t *silov1.Tenant, user, password string) map[string]string {
	return map[string]string{
		"PGHOST":     fmt.Sprintf("%s.%s.svc", DatabaseName, NamespaceFor(t)),
		"PGPORT":     strconv.Itoa(int(postgresPort)),
		"PGDATABASE": postgresDB,
		"PGUSER":     user,
		"PGPASSWORD": password,
	}
}
