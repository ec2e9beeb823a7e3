//go:build unix

package worker

import (
	"context"
	"errors"
	"fmt"

	"github.com/mailshift/mailshift/internal/atomicfile"
)

// Lock takes an exclusive lock on the checkpoint (atomicfile.Lock), without waiting: a lock of a process
// that died, however it died, does not outlive it.
func (f FileCheckpoint) Lock(ctx context.Context) (func(), error) {
	unlock, err := atomicfile.Lock(f.Path)
	if le := (*atomicfile.LockedError)(nil); errors.As(err, &le) {
		return nil, fmt.Errorf("%w: %s is held by %s; wait for that run to end or stop it, then run again", ErrCheckpointInUse, f.Path, le.Holder)
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint %w", err)
	}
	return unlock, nil
}
