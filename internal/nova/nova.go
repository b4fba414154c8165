package nova

import (
	"sync"

	"github.com/gonova/gonova/internal/compute/versions"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/internal/notifications"
	"github.com/gonova/gonova/pkg/app"
	"github.com/gonova/gonova/pkg/launcher"
	"github.com/gonova/gonova/pkg/registry"
)

// Binary names nova records in its services rows.
const (
	APIBinary     = registry.BinaryAPI
	ComputeBinary = registry.BinaryCompute
)

// App is the framework's runtime plus nova's own store: the compute_nodes and
// instances tables, on the runtime's Postgres pool or in memory beside the
// in-memory services store.
type App struct {
	*app.App
	Compute computedb.Store

	notes      *notifications.Notifier // see Notifications
	notesBuilt bool

	// oldestSupported is the floor of checkComputeVersions: this release's
	// (versions.Supported); a test raises it.
	oldestSupported versions.Floor
	versionCheck    sync.Once
	versionCheckErr error
}

// Options are the runtime options of a nova binary named product.
func Options(product string) app.Options {
	return app.Options{Product: product, Version: ServiceVersion}
}

// Wrap adds nova's store to a runtime built with Options. A runtime built
// BindOnly (the parent of API workers) gets no store.
func Wrap(a *app.App) *App {
	n := &App{App: a, oldestSupported: versions.Supported()}
	switch {
	case a.Services == nil:
	case a.Pool() != nil:
		n.Compute = computedb.NewPG(a.Pool())
	default:
		n.Compute = computedb.NewMem()
	}
	return n
}

// Main is app.Main for a nova binary: build receives nova's App.
func Main(args []string, o app.Options, build func(n *App) ([]launcher.Service, error)) int {
	return app.Main(args, o, func(a *app.App) ([]launcher.Service, error) { return build(Wrap(a)) })
}
