package controllers

import (
	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// rotationAction is what a rotation does next. Each action is one write (or none),
// and every one is safe to repeat: the operator may stop between any two.
type rotationAction string

const (
	// rotationWait: a Job runs, or the app and the workers still roll.
	rotationWait rotationAction = "Wait"
	// rotationStage creates the staging Secret: the new password, generated once.
	rotationStage rotationAction = "Stage"
	// rotationUnstage deletes a staging Secret left by an earlier, failed request.
	rotationUnstage rotationAction = "Unstage"
	// rotationRunApply creates the Job that gives the service the new password.
	rotationRunApply rotationAction = "RunApply"
	// rotationRestorePrevious and rotationRestoreNew recreate a missing credentials
	// Secret from the staging Secret: the credentials the service accepts.
	rotationRestorePrevious rotationAction = "RestorePrevious"
	rotationRestoreNew      rotationAction = "RestoreNew"
	// rotationSwap replaces the credentials Secret's content with the new credentials.
	rotationSwap rotationAction = "Swap"
	// rotationRollOut moves to RollingOut: the credentials Secret holds the new ones.
	rotationRollOut rotationAction = "RollOut"
	// rotationRunRetire creates the Job that takes the old password away.
	rotationRunRetire rotationAction = "RunRetire"
	// rotationFinish deletes the staging Secret; the rotation has succeeded.
	rotationFinish rotationAction = "Finish"
	// rotationSucceed records success (the staging Secret is already gone).
	rotationSucceed rotationAction = "Succeed"
	// rotationFail records failure: a Job failed, or what the rotation needs is gone.
	rotationFail rotationAction = "Fail"
	// rotationNone: the rotation is over.
	rotationNone rotationAction = "None"
)

// jobState is what a Job of the rotation reports.
type jobState string

const (
	jobStateAbsent    jobState = "Absent"
	jobStateRunning   jobState = "Running"
	jobStateSucceeded jobState = "Succeeded"
	jobStateFailed    jobState = "Failed"
)

// credentialsState says which credentials the credentials Secret holds, compared
// with the staging Secret.
type credentialsState string

const (
	credentialsMissing  credentialsState = "Missing"
	credentialsPrevious credentialsState = "Previous"
	credentialsNew      credentialsState = "New"
	credentialsOther    credentialsState = "Other"
)

// rotationView is what a pass observed of one service's rotation.
type rotationView struct {
	phase silov1.RotationPhase
	// staged is true when the staging Secret exists; stagedForRequest when it belongs
	// to the rotation's request.
	staged, stagedForRequest bool
	credentials              credentialsState
	apply, retire            jobState
	// rolledOut is true when the app and the workers run on the current settings.
	rolledOut bool
}

// nextRotationAction is the rotation's state machine: the next action from what was
// observed. The durable state is in the cluster (the staging Secret, the credentials
// Secret, the Jobs) and the phase in status, so after a restart it resumes where it
// was: the new password is generated once (the staging Secret is created, never
// applied over), and the credentials Secret is only ever replaced by credentials the
// service accepts.
func nextRotationAction(v rotationView) rotationAction {
	switch v.phase {
	case silov1.RotationSucceeded, silov1.RotationFailed:
		return rotationNone
	}
	if !v.staged {
		switch v.phase {
		case silov1.RotationApplying:
			return rotationStage
		case silov1.RotationRetiring:
			// Deleted by the last step: the status write did not happen.
			return rotationSucceed
		default:
			return rotationFail
		}
	}
	if !v.stagedForRequest {
		if v.phase == silov1.RotationApplying && v.credentials != credentialsMissing {
			return rotationUnstage
		}
		return rotationFail
	}
	applied := v.phase != silov1.RotationApplying || v.apply == jobStateSucceeded
	switch v.credentials {
	case credentialsMissing:
		if applied {
			return rotationRestoreNew
		}
		return rotationRestorePrevious
	case credentialsOther:
		return rotationFail
	}
	switch v.phase {
	case silov1.RotationApplying:
		switch v.apply {
		case jobStateAbsent:
			return rotationRunApply
		case jobStateFailed:
			return rotationFail
		case jobStateSucceeded:
			if v.credentials == credentialsNew {
				return rotationRollOut
			}
			return rotationSwap
		}
		return rotationWait
	case silov1.RotationRollingOut:
		switch {
		case v.credentials != credentialsNew:
			return rotationSwap
		case v.rolledOut:
			return rotationRunRetire
		}
		return rotationWait
	case silov1.RotationRetiring:
		switch v.retire {
		case jobStateAbsent:
			return rotationRunRetire
		case jobStateFailed:
			return rotationFail
		case jobStateSucceeded:
			return rotationFinish
		}
		return rotationWait
	}
	return rotationFail
}
