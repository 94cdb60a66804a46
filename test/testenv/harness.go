package testenv

import (
	"fmt"
	"os"
	"strconv"
	"sync"
)

// EnvInt reads a non-negative number from the environment variable name, or def when
// it is unset: how the benchmark and the chaos tier take their settings.
func EnvInt(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s=%q: want a non-negative number", name, v)
	}
	return n, nil
}

// Parallel runs f on every item with workers goroutines and returns the first error.
func Parallel[T any](items []T, workers int, f func(T) error) error {
	work := make(chan T)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for range max(workers, 1) {
		wg.Go(func() {
			for it := range work {
				if err := f(it); err != nil {
					once.Do(func() { first = err })
				}
			}
		})
	}
	for _, it := range items {
		work <- it
	}
	close(work)
	wg.Wait()
	return first
}

// Names returns n names prefix-00001, prefix-00002, ... starting at from.
func Names(prefix string, from, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%05d", prefix, from+i)
	}
	return out
}
