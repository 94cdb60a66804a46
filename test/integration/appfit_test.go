package integration

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
	"github.com/silo-dev/silo/controllers"
)

// What a real app needs, as the children of a Tenant carry it.
var _ = Describe("A real app's Tenant", func() {
	It("gives the app and the workers the Tenant's probes, checking the app's port by default", func() {
		t := newTenant(uniqueName("probes"))
		t.Spec.App.Port = 3000
		t.Spec.App.ReadinessProbe = &silov1.Probe{HTTPGet: &silov1.HTTPGetProbe{Path: "/healthz"}}
		t.Spec.App.LivenessProbe = &silov1.Probe{HTTPGet: &silov1.HTTPGetProbe{Path: "/livez"}, PeriodSeconds: 20}
		t.Spec.App.StartupProbe = &silov1.Probe{TCPSocket: &silov1.TCPSocketProbe{}, FailureThreshold: 30}
		t.Spec.Workers = &silov1.WorkersSpec{Command: []string{"/app", "worker"}, Probes: silov1.Probes{
			LivenessProbe: &silov1.Probe{Exec: &silov1.ExecProbe{Command: []string{"/app", "alive"}}}}}
		t = createTenant(t)
		ns := controllers.NamespaceFor(t)

		app := &appsv1.Deployment{}
		Expect(get(app, ns, controllers.AppName)).To(Succeed())
		c := app.Spec.Template.Spec.Containers[0]
		Expect(c.ReadinessProbe.HTTPGet).To(Equal(&corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(3000), Scheme: corev1.URISchemeHTTP}))
		Expect(c.LivenessProbe.HTTPGet.Path).To(Equal("/livez"))
		Expect(c.LivenessProbe.PeriodSeconds).To(Equal(int32(20)))
		Expect(c.StartupProbe.TCPSocket.Port).To(Equal(intstr.FromInt32(3000)))
		Expect(c.StartupProbe.FailureThreshold).To(Equal(int32(30)))

		workers := &appsv1.Deployment{}
		Expect(get(workers, ns, controllers.WorkersName)).To(Succeed())
		w := workers.Spec.Template.Spec.Containers[0]
		Expect(w.LivenessProbe.Exec.Command).To(Equal([]string{"/app", "alive"}))
		Expect(w.ReadinessProbe.Exec.Command).To(Equal([]string{"true"}), "the workers keep their default readiness")
	})
})
