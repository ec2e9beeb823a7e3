package main

import "testing"

// TestKernelAtLeast: the kernel release decides whether syncfs reports write-back errors (5.8 on).
func TestKernelAtLeast(t *testing.T) {
	for _, c := range []struct {
		release string
		want    bool
	}{
		{"6.1.0-18-amd64", true},
		{"5.8.0", true},
		{"5.8-rc1", true},
		{"5.7.19", false},
		{"4.19.0-26-amd64", false},
		{"5.10", true},
		{"10.0.1", true},
		{"", false},
		{"six.one", false},
		{"5", false},
	} {
		if got := kernelAtLeast(c.release, 5, 8); got != c.want {
			t.Errorf("kernelAtLeast(%q, 5, 8) = %v, want %v", c.release, got, c.want)
		}
	}
}
