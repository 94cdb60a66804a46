// Command kubectl-silo is a kubectl plugin for Silo's Tenants and TenantClasses:
//
//	kubectl silo status [<tenant>]     a Tenant as a tree: namespace, components with
//	                                   their pods and claims, conditions, endpoints,
//	                                   quota, last events, and what to do next
//	kubectl silo list                  the fleet: counts by phase and class, the
//	                                   unhealthy Tenants first
//	kubectl silo suspend|resume [<tenant>]
//	kubectl silo rollout status|pause|resume <class>
//
// It takes kubectl's connection flags (--kubeconfig, --context, -n, --server, ...)
// from k8s.io/cli-runtime, so they behave as kubectl's do. Tenants are cluster-scoped:
// without a name, status, suspend and resume act on the Tenant whose namespace -n (or
// the context's namespace) names. `make kubectl-silo` builds it into bin/; put it on
// PATH and kubectl finds it, or install it with krew (hack/kubectl-silo/krew.yaml).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/silo-dev/silo/controllers"
)

func main() {
	cmd := newRootCommand(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}, time.Now)
	if err := cmd.Execute(); err != nil {
		os.Exit(1)
	}
}

// plugin is what every command needs: kubectl's flags, the streams and a clock.
type plugin struct {
	flags   *genericclioptions.ConfigFlags
	streams genericiooptions.IOStreams
	now     func() time.Time
	// newClient returns a client for flags; tests keep the default.
	newClient func(*genericclioptions.ConfigFlags) (client.Client, error)
}

// newRootCommand returns `kubectl silo` and its commands.
func newRootCommand(streams genericiooptions.IOStreams, now func() time.Time) *cobra.Command {
	p := &plugin{flags: genericclioptions.NewConfigFlags(true), streams: streams, now: now, newClient: clientFor}
	root := &cobra.Command{
		Use:         "kubectl-silo",
		Annotations: map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl silo"},
		Short:       "Look after Silo's Tenants and TenantClasses",
		Long: "kubectl silo shows a Tenant's environment and what to do when something is wrong, the fleet at a glance,\n" +
			"and suspends, resumes and steers the rollouts of TenantClasses.",
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	p.flags.AddFlags(root.PersistentFlags())
	root.AddCommand(p.statusCommand(), p.listCommand(), p.suspendCommand(true), p.suspendCommand(false), p.rolloutCommand())
	return root
}

// clientFor returns a client of Silo's types and Kubernetes' for kubectl's flags.
func clientFor(flags *genericclioptions.ConfigFlags) (client.Client, error) {
	cfg, err := flags.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	return client.New(cfg, client.Options{Scheme: controllers.NewScheme()})
}

// client returns the plugin's client.
func (p *plugin) client() (client.Client, error) { return p.newClient(p.flags) }

// namespace is the namespace -n (or the context) names.
func (p *plugin) namespace() (string, error) {
	ns, _, err := p.flags.ToRawKubeConfigLoader().Namespace()
	return ns, err
}

// out is where commands print.
func (p *plugin) out() io.Writer { return p.streams.Out }

// ctx is the context of one command.
func (p *plugin) ctx(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// atMostArgs accepts at most max arguments, with a message that says what is missing.
func atMostArgs(max int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > max {
			return fmt.Errorf("%s takes at most %d argument (%s), got %d", cmd.CommandPath(), max, what, len(args))
		}
		return nil
	}
}
