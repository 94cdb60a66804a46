package controllers

import (
	"fmt"
	"net/url"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
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

func componentDatabase() component {
	return component{
		name:    DatabaseName,
		enabled: func(t *silov1.Tenant) bool { return t.Spec.Database != nil },
		external: func(t *silov1.Tenant) *silov1.ExternalService {
			return t.Spec.Database.External
		},
		credentialUser: postgresUser,
		build:          buildDatabase,
		settings:       databaseSettings,
		observe:        observeStatefulSet(DatabaseName),
		endpoint: func(t *silov1.Tenant) string {
			return fmt.Sprintf("postgres://%s/%s", databaseHost(t), postgresDB)
		},
	}
}

func databaseHost(t *silov1.Tenant) string {
	return serviceHost(t, DatabaseName, postgresPort)
}

// databaseSettings are DATABASE_URL and the libpq variables, so both URL-driven and
// PG*-driven clients connect without configuration.
func databaseSettings(bc *buildContext) map[string]string {
	t := bc.Tenant
	user, password := credential(bc, DatabaseName, "username"), credential(bc, DatabaseName, "password")
	u := url.URL{Scheme: "postgres", Host: databaseHost(t), Path: "/" + postgresDB,
		User: url.UserPassword(user, password), RawQuery: "sslmode=disable"}
	return map[string]string{
		"DATABASE_URL": u.String(),
		"PGHOST":       fmt.Sprintf("%s.%s.svc", DatabaseName, NamespaceFor(t)),
		"PGPORT":       strconv.Itoa(int(postgresPort)),
		"PGDATABASE":   postgresDB,
		"PGUSER":       user,
		"PGPASSWORD":   password,
	}
}

// buildDatabase returns a PostgreSQL server on its own volume: a StatefulSet and its
// Service. The superuser's password comes from the generated credentials; the image
// uses it only when it initialises an empty volume.
func buildDatabase(bc *buildContext) []runtime.ApplyConfiguration {
	t := bc.Tenant
	db := t.Spec.Database
	size := defaultDatabaseStorage
	if db.Storage != nil {
		size = *db.Storage
	}
	secret := credentialsSecretName(DatabaseName)
	c := restrictedContainer("postgres", withTag(bc.Config.Images.Postgres, db.Version)).
		WithEnv(
			secretEnv("POSTGRES_USER", secret, "username"),
			secretEnv("POSTGRES_PASSWORD", secret, "password"),
			corev1ac.EnvVar().WithName("POSTGRES_DB").WithValue(postgresDB),
			corev1ac.EnvVar().WithName("PGDATA").WithValue(postgresData+"/pgdata"),
		).
		WithPorts(tcpPort("postgres", postgresPort)).
		WithVolumeMounts(
			mount(dataVolume, postgresData),
			mount("run", "/var/run/postgresql"),
			mount(tmpVolume, tmpPath),
		).
		WithReadinessProbe(corev1ac.Probe().WithExec(corev1ac.ExecAction().WithCommand(
			"pg_isready", "-h", "127.0.0.1", "-p", strconv.Itoa(int(postgresPort)), "-U", postgresUser, "-d", postgresDB)))
	if r := resources(db.Resources); r != nil {
		c.WithResources(r)
	}
	tmpl := podTemplate(t, podSpec{component: DatabaseName, uid: postgresUID,
		containers: []*corev1ac.ContainerApplyConfiguration{c},
		volumes:    []*corev1ac.VolumeApplyConfiguration{emptyDir("run"), emptyDir(tmpVolume)}})
	return []runtime.ApplyConfiguration{
		singleStatefulSet(t, bc.Config, DatabaseName, size, tmpl),
		corev1ac.Service(DatabaseName, NamespaceFor(t)).
			WithLabels(componentLabels(t, DatabaseName)).
			WithOwnerReferences(ownerRef(t)).
			WithSpec(corev1ac.ServiceSpec().
				WithType(corev1.ServiceTypeClusterIP).
				WithSelector(selector(t, DatabaseName).MatchLabels).
				WithPorts(corev1ac.ServicePort().
					WithName("postgres").
					WithProtocol(corev1.ProtocolTCP).
					WithPort(postgresPort).
					WithTargetPort(intstr.FromString("postgres")))),
	}
}
