package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gonova/gonova/internal/image"
	"github.com/gonova/gonova/pkg/wsgi/auth"
	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/policy"
)

// ImageService is nova's image API as the servers routes use it: the image
// a create or rebuild names, as the caller sees it. *image.Client (Glance
// v2) is one; nil in Deps.Images accepts any image id unchecked (gonova's
// embedded default, without a Glance).
type ImageService interface {
	Get(ctx context.Context, caller *auth.Context, id string) (image.Image, error)
}

const polZeroDiskFlavor = "os_compute_api:servers:create:zero_disk_flavor"

// imageFlavor is what nova's _validate_flavor_image reads of the flavor.
type imageFlavor struct {
	MemoryMB int64 // memory_mb
	RootGB   int64 // root_gb
}

// imageCheck names the route's own answer to a missing image: nova's
// create and rebuild word it differently.
type imageCheck struct {
	notFound string
}

var (
	// createImageCheck is nova's servers create: ImageNotFound becomes
	// "Can not find requested image".
	createImageCheck = imageCheck{notFound: "Can not find requested image"}
	// rebuildImageCheck is nova's servers rebuild ("Cannot find image for
	// rebuild"): the rebuild action passes it to checkImage.
	rebuildImageCheck = imageCheck{notFound: "Cannot find image for rebuild"}
)

// checkImage is nova's image checks of a create or rebuild: the image, as
// the caller sees it in Glance (GET /v2/images/{id} with its token), must
// exist and be active (nova's ImageNotActive), and fit the flavor
// (_validate_flavor_image_nostatus: img_config_drive, min_ram, size and
// min_disk against a non-zero root disk; a zero-disk flavor only with the
// zero_disk_flavor policy). Each failure is nova's 400 (403 for the
// zero-disk rule); Glance unreachable is a 503. Without an image service it
// checks nothing and returns a zero Image.
func (h *handlers) checkImage(r *http.Request, id string, f imageFlavor, c imageCheck) (image.Image, error) {
	if h.images == nil {
		return image.Image{}, nil
	}
	img, err := h.images.Get(r.Context(), caller(r), id)
	switch {
	case errors.Is(err, image.ErrNotFound):
		return img, fault.BadRequest(c.notFound)
	case errors.Is(err, image.ErrNotAuthorized):
		return img, fault.BadRequest(err.Error())
	case errors.Is(err, image.ErrUnavailable):
		return img, &fault.Error{Code: http.StatusServiceUnavailable, Message: err.Error(), Err: err}
	case err != nil:
		return img, err
	}
	if img.Status != "active" {
		return img, fault.BadRequest(fmt.Sprintf("Image %s is not active.", id))
	}
	return img, h.validateFlavorImage(r, img, f)
}

// validateFlavorImage is nova's _validate_flavor_image_nostatus for an
// image-backed server (gonova has no volumes): the checks that need no
// NUMA or PCI topology.
func (h *handlers) validateFlavorImage(r *http.Request, img image.Image, f imageFlavor) error {
	if v, ok := img.Properties["img_config_drive"]; ok {
		if s := fmt.Sprint(v); s != "optional" && s != "mandatory" {
			return fault.BadRequest(fmt.Sprintf("Image's config drive option '%s' is invalid", s))
		}
	}
	if f.MemoryMB < int64(img.MinRAM) {
		return fault.BadRequest("Flavor's memory is too small for requested image.")
	}
	const gi = int64(1) << 30
	minDisk := int64(img.MinDisk) * gi
	dest := f.RootGB * gi
	if dest == 0 {
		// root_gb 0: nova does not check sizes, but allows such a flavor
		// only to callers its zero_disk_flavor policy lets.
		if !h.enf.Allowed(r.Context(), polZeroDiskFlavor, createTarget(r)) {
			return fault.Forbidden("Only volume-backed servers are allowed for flavors with zero disk.")
		}
		return nil
	}
	if img.Size > dest {
		return fault.BadRequest("Flavor's disk is too small for requested image. Flavor disk is " +
			strconv.FormatInt(dest, 10) + " bytes, image is " + strconv.FormatInt(img.Size, 10) + " bytes.")
	}
	if minDisk > dest {
		return fault.BadRequest("Flavor's disk is smaller than the minimum size specified in image metadata. Flavor disk is " +
			strconv.FormatInt(dest, 10) + " bytes, minimum size is " + strconv.FormatInt(minDisk, 10) + " bytes.")
	}
	return nil
}

// createTarget is nova's default target of context.can without one: the
// caller's own project and user.
func createTarget(r *http.Request) policy.Target {
	c := caller(r)
	if c == nil {
		return nil
	}
	return policy.Target{"project_id": c.ProjectID, "user_id": c.UserID}
}
