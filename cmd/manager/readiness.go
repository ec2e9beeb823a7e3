package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
)

// Readiness bounds: a probe answers within about three seconds whatever the API server does.
const (
	cacheSyncWait = time.Second
	apiServerWait = 2 * time.Second
)

// cacheSynced is ready once the manager's cache has started and every informer in it has listed its
// objects: before that, reconciles would read an empty world.
func cacheSynced(c cache.Cache) healthz.Checker {
	return func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), cacheSyncWait)
		defer cancel()
		if !c.WaitForCacheSync(ctx) {
			return errors.New("the cache has not synced yet")
		}
		return nil
	}
}

// apiServerReachable is ready while the API server answers GET /version within apiServerWait: a manager cut
// off from it can neither see changes nor write status. The call is the cheapest the server has.
func apiServerReachable(cfg *rest.Config) (healthz.Checker, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = apiServerWait
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), apiServerWait)
		defer cancel()
		if err := dc.RESTClient().Get().AbsPath("/version").Do(ctx).Error(); err != nil {
			return fmt.Errorf("the API server does not answer: %w", err)
		}
		return nil
	}, nil
}
