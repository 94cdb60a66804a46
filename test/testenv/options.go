package testenv

import "sigs.k8s.io/controller-runtime/pkg/config"

// ctrlconfigController lets a test process start the tenant controller more than once
// (a restart test), which controller-runtime otherwise refuses by name.
func ctrlconfigController(skipNameValidation bool) config.Controller {
	return config.Controller{SkipNameValidation: &skipNameValidation}
}
