package worker

import (
	"context"
	"errors"
)

// ErrCheckpointInUse is returned by Run when another run holds the job's checkpoint: two runs on one
// checkpoint would each copy what the other is copying.
var ErrCheckpointInUse = errors.New("another run is using this checkpoint")

// CheckpointLocker is a checkpoint store that keeps a second run off the checkpoint while one runs. Run
// takes the lock before it reads the checkpoint and holds it to the end; a lock of a process that died
// must not outlive it.
type CheckpointLocker interface {
	Lock(ctx context.Context) (unlock func(), err error)
}
