package controllers

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	silov1 "github.com/silo-dev/silo/api/v1alpha1"
)

func TestBackupScheduleRefusesWhatCannotRun(t *testing.T) {
	tests := map[string]struct {
		spec silov1.BackupSpec
		want string // a part of the error; "" when valid
	}{
		"daily":                {spec: silov1.BackupSpec{Schedule: "0 3 * * *"}},
		"descriptor":           {spec: silov1.BackupSpec{Schedule: "@daily"}},
		"with a zone":          {spec: silov1.BackupSpec{Schedule: "0 3 * * *", TimeZone: "Europe/Paris"}},
		"missing":              {spec: silov1.BackupSpec{}, want: "backup.schedule is missing"},
		"six fields":           {spec: silov1.BackupSpec{Schedule: "0 0 3 * * *"}, want: "is not a cron expression"},
		"out of range":         {spec: silov1.BackupSpec{Schedule: "0 25 * * *"}, want: "is not a cron expression"},
		"interval":             {spec: silov1.BackupSpec{Schedule: "@every 1h"}, want: "is an interval"},
		"zone in the schedule": {spec: silov1.BackupSpec{Schedule: "CRON_TZ=UTC 0 3 * * *"}, want: "set backup.timeZone instead"},
		"unknown zone":         {spec: silov1.BackupSpec{Schedule: "0 3 * * *", TimeZone: "Mars/Olympus"}, want: "is not an IANA time zone"},
		"the machine's zone":   {spec: silov1.BackupSpec{Schedule: "0 3 * * *", TimeZone: "Local"}, want: "is not an IANA time zone"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := backupSchedule(&tc.spec)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error = %v, want one saying %q", err, tc.want)
			}
		})
	}
}

func TestDueRound(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	mt := func(s string) *metav1.Time { v := metav1.NewTime(at(s)); return &v }
	tests := map[string]struct {
		spec     silov1.BackupSpec
		status   *silov1.BackupStatus
		request  string
		now      string
		wantID   string // "" when no round is due
		wantNext string
	}{
		"first sight only schedules": {
			spec: silov1.BackupSpec{Schedule: "0 3 * * *"}, now: "2026-12-01T11:00:00Z",
			wantNext: "2026-12-02T03:00:00Z",
		},
		"not before the time": {
			spec:   silov1.BackupSpec{Schedule: "0 3 * * *"},
			status: &silov1.BackupStatus{NextScheduleTime: mt("2026-12-02T03:00:00Z")}, now: "2026-12-02T02:59:59Z",
			wantNext: "2026-12-02T03:00:00Z",
		},
		"at the time": {
			spec:   silov1.BackupSpec{Schedule: "0 3 * * *"},
			status: &silov1.BackupStatus{NextScheduleTime: mt("2026-12-02T03:00:00Z")}, now: "2026-12-02T03:00:00Z",
			wantID: "20261202-0300", wantNext: "2026-12-03T03:00:00Z",
		},
		"missed times collapse into one round": {
			spec:   silov1.BackupSpec{Schedule: "0 3 * * *"},
			status: &silov1.BackupStatus{NextScheduleTime: mt("2026-12-02T03:00:00Z")}, now: "2026-12-05T10:00:00Z",
			wantID: "20261202-0300", wantNext: "2026-12-06T03:00:00Z",
		},
		"a changed schedule does not fire the old time": {
			spec:   silov1.BackupSpec{Schedule: "30 4 * * *"},
			status: &silov1.BackupStatus{NextScheduleTime: mt("2026-12-02T03:00:00Z")}, now: "2026-12-02T03:10:00Z",
			wantNext: "2026-12-02T04:30:00Z",
		},
		"in a time zone": {
			// 03:00 in Paris is 02:00 UTC in winter.
			spec:   silov1.BackupSpec{Schedule: "0 3 * * *", TimeZone: "Europe/Paris"},
			status: &silov1.BackupStatus{NextScheduleTime: mt("2026-12-02T02:00:00Z")}, now: "2026-12-02T02:00:30Z",
			wantID: "20261202-0200", wantNext: "2026-12-03T02:00:00Z",
		},
		"in a time zone across the summer time change": {
			spec: silov1.BackupSpec{Schedule: "0 3 * * *", TimeZone: "Europe/Paris"}, now: "2027-03-28T00:30:00Z",
			wantNext: "2027-03-28T01:00:00Z",
		},
		"a new request goes first": {
			spec:   silov1.BackupSpec{Schedule: "0 3 * * *"},
			status: &silov1.BackupStatus{NextScheduleTime: mt("2026-12-02T03:00:00Z"), LastRequest: "1"}, request: "2",
			now: "2026-12-02T03:00:00Z", wantID: "now-d4735e3a", wantNext: "2026-12-03T03:00:00Z",
		},
		"a handled request is not taken again": {
			spec:   silov1.BackupSpec{Schedule: "0 3 * * *"},
			status: &silov1.BackupStatus{LastRequest: "2"}, request: "2", now: "2026-12-01T11:00:00Z",
			wantNext: "2026-12-02T03:00:00Z",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			sched, err := backupSchedule(&tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			round, next := dueRound(sched, tc.status, tc.request, at(tc.now))
			gotID := ""
			if round != nil {
				gotID = round.id
			}
			if gotID != tc.wantID || !next.Equal(at(tc.wantNext)) {
				t.Fatalf("round %q next %s, want %q next %s", gotID, next.UTC().Format(time.RFC3339), tc.wantID, tc.wantNext)
			}
		})
	}
}
