package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	// The operator's image has no zone database: backup.timeZone needs its own.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

// defaultBackupKeep is how many ready snapshots of each volume are kept (backup.keep).
const defaultBackupKeep int32 = 7

// backupSchedule parses the effective backup.schedule in backup.timeZone. The error
// says what to fix; the API server cannot check a cron expression.
func backupSchedule(b *silov1.BackupSpec) (*cron.SpecSchedule, error) {
	expr := strings.TrimSpace(b.Schedule)
	switch {
	case expr == "":
		return nil, fmt.Errorf("backup.schedule is missing: set a cron expression such as \"0 3 * * *\" on the Tenant or its class")
	case strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ="):
		return nil, fmt.Errorf("backup.schedule %q names a time zone: set backup.timeZone instead and keep the schedule to the cron fields", b.Schedule)
	case strings.HasPrefix(expr, "@every"):
		return nil, fmt.Errorf("backup.schedule %q is an interval: use a cron expression such as \"0 */6 * * *\" (every six hours)", b.Schedule)
	}
	loc := time.UTC
	if b.TimeZone != "" {
		l, err := time.LoadLocation(b.TimeZone)
		if err != nil || b.TimeZone == "Local" {
			return nil, fmt.Errorf("backup.timeZone %q is not an IANA time zone: use a name such as \"Europe/Paris\" or \"America/New_York\", or leave it out for UTC", b.TimeZone)
		}
		loc = l
	}
	s, err := cron.ParseStandard(expr)
	if err != nil {
		return nil, fmt.Errorf("backup.schedule %q is not a cron expression (%v): use five fields, minute hour day-of-month month day-of-week, such as \"0 3 * * *\" for 03:00 every day", b.Schedule, err)
	}
	spec, ok := s.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("backup.schedule %q is not a cron expression: use five fields such as \"0 3 * * *\"", b.Schedule)
	}
	spec.Location = loc
	return spec, nil
}

// backupRound is one round of snapshots of every volume.
type backupRound struct {
	// id names the round's snapshots and checkpoint Job: the scheduled time
	// (20261202-0300, UTC) or, for a backup-now request, now-<hash of its value>.
	id string
	// slot is the scheduled time of a scheduled round (zero for a request).
	slot time.Time
	// request is the backup-now value a requested round answers.
	request string
}

// dueRound returns the round to take now, if any, and the next scheduled time. A
// scheduled round is due when the time last recorded as next (status) has come and is
// still a time of the schedule (it was not changed since); missed times collapse into
// one round. A backup-now request is due when its value differs from the last one
// handled, and goes first. Pure: now is the operator's clock.
func dueRound(sched *cron.SpecSchedule, st *silov1.BackupStatus, request string, now time.Time) (*backupRound, time.Time) {
	next := sched.Next(now)
	if st == nil {
		st = &silov1.BackupStatus{}
	}
	if request != "" && request != st.LastRequest {
		sum := sha256.Sum256([]byte(request))
		return &backupRound{id: "now-" + hex.EncodeToString(sum[:4]), request: request}, next
	}
	if prev := st.NextScheduleTime; prev != nil && !prev.After(now) && sched.Next(prev.Add(-time.Second)).Equal(prev.Time) {
		slot := prev.UTC()
		return &backupRound{id: slot.Format("20060102-1504"), slot: slot}, next
	}
	return nil, next
}
