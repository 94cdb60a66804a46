package controllers

import (
	"testing"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func TestNextRotationAction(t *testing.T) {
	// staged is a view of a rotation whose staging Secret belongs to its request.
	staged := func(phase silov1.RotationPhase, creds credentialsState) rotationView {
		return rotationView{phase: phase, staged: true, stagedForRequest: true, credentials: creds,
			apply: jobStateAbsent, retire: jobStateAbsent}
	}
	with := func(v rotationView, f func(*rotationView)) rotationView { f(&v); return v }
	for name, tc := range map[string]struct {
		view rotationView
		want rotationAction
	}{
		"a new rotation stages the new password": {
			view: rotationView{phase: silov1.RotationApplying, credentials: credentialsPrevious},
			want: rotationStage,
		},
		"a staging Secret of an earlier, failed request is deleted first": {
			view: with(staged(silov1.RotationApplying, credentialsPrevious), func(v *rotationView) { v.stagedForRequest = false }),
			want: rotationUnstage,
		},
		"a staged rotation runs the apply Job": {
			view: staged(silov1.RotationApplying, credentialsPrevious),
			want: rotationRunApply,
		},
		"a running apply Job is waited for": {
			view: with(staged(silov1.RotationApplying, credentialsPrevious), func(v *rotationView) { v.apply = jobStateRunning }),
			want: rotationWait,
		},
		"a failed apply Job fails the rotation, credentials untouched": {
			view: with(staged(silov1.RotationApplying, credentialsPrevious), func(v *rotationView) { v.apply = jobStateFailed }),
			want: rotationFail,
		},
		"a succeeded apply Job switches the credentials Secret": {
			view: with(staged(silov1.RotationApplying, credentialsPrevious), func(v *rotationView) { v.apply = jobStateSucceeded }),
			want: rotationSwap,
		},
		"credentials missing before the service has the new password: the old ones come back": {
			view: with(staged(silov1.RotationApplying, credentialsMissing), func(v *rotationView) { v.apply = jobStateRunning }),
			want: rotationRestorePrevious,
		},
		"stopped between the swap's delete and create: the new ones come back, never a generated one": {
			view: with(staged(silov1.RotationApplying, credentialsMissing), func(v *rotationView) { v.apply = jobStateSucceeded }),
			want: rotationRestoreNew,
		},
		"switched before the status said so: on to the rollout": {
			view: with(staged(silov1.RotationApplying, credentialsNew), func(v *rotationView) { v.apply = jobStateSucceeded }),
			want: rotationRollOut,
		},
		"switched, the app still rolls: wait (the old password still works)": {
			view: staged(silov1.RotationRollingOut, credentialsNew),
			want: rotationWait,
		},
		"the app has rolled: the old password is retired": {
			view: with(staged(silov1.RotationRollingOut, credentialsNew), func(v *rotationView) { v.rolledOut = true }),
			want: rotationRunRetire,
		},
		"a running retire Job is waited for": {
			view: with(staged(silov1.RotationRetiring, credentialsNew), func(v *rotationView) { v.retire = jobStateRunning }),
			want: rotationWait,
		},
		"a retire Job gone before its result was seen runs again": {
			view: staged(silov1.RotationRetiring, credentialsNew),
			want: rotationRunRetire,
		},
		"a failed retire Job fails the rotation": {
			view: with(staged(silov1.RotationRetiring, credentialsNew), func(v *rotationView) { v.retire = jobStateFailed }),
			want: rotationFail,
		},
		"a succeeded retire Job finishes": {
			view: with(staged(silov1.RotationRetiring, credentialsNew), func(v *rotationView) { v.retire = jobStateSucceeded }),
			want: rotationFinish,
		},
		"staging deleted by the last step before the status was written: succeeded": {
			view: rotationView{phase: silov1.RotationRetiring, credentials: credentialsPrevious},
			want: rotationSucceed,
		},
		"staging deleted during the rollout: failed, nothing to retire with": {
			view: rotationView{phase: silov1.RotationRollingOut, credentials: credentialsPrevious},
			want: rotationFail,
		},
		"credentials replaced by someone during the rotation: failed, nothing overwritten": {
			view: staged(silov1.RotationApplying, credentialsOther),
			want: rotationFail,
		},
		"a finished rotation does nothing": {
			view: staged(silov1.RotationSucceeded, credentialsNew),
			want: rotationNone,
		},
		"a failed rotation does nothing": {
			view: staged(silov1.RotationFailed, credentialsPrevious),
			want: rotationNone,
		},
	} {
		t.Run(name, func(t *testing.T) {
			if got := nextRotationAction(tc.view); got != tc.want {
				t.Errorf("nextRotationAction(%+v) = %s, want %s", tc.view, got, tc.want)
			}
		})
	}
}
