package controllers

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// retryAfter is the delay before the next attempt after `failures` consecutive failures: exponential from
// 5 s and never longer than the object's own check interval, so a broken server is retried steadily but
// never in a tight loop.
func retryAfter(failures int32, ceiling time.Duration) time.Duration {
	d := 5 * time.Second
	for i := int32(1); i < failures && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}

// intervalOf returns d, or def when d is unset or not positive.
func intervalOf(d *metav1.Duration, def time.Duration) time.Duration {
	if d == nil || d.Duration <= 0 {
		return def
	}
	return d.Duration
}
