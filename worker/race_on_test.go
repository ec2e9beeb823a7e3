//go:build race

package worker

// raceEnabled: this test binary runs under the race detector, whose runtime makes every worker process start
// and run several times slower; tests that kill a worker at chosen moments widen their windows by it.
const raceEnabled = true
