package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/wsgi"
	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

// rebuildBody is a validated rebuild action.
type rebuildBody struct {
	imageRef    string
	adminPass   *string
	name        *string
	description *string
	hostname    *string
	metadata    *map[string]string
	// keyName is 2.54's key_name: nil keeps the key pair, "" (null)
	// removes it.
	keyName *string
}

// parseRebuild is nova's rebuild schema for the microversion: imageRef
// (a uuid) required; name, adminPass, metadata, preserve_ephemeral,
// OS-DCF:diskConfig, accessIPv4/6, personality (until 2.56); 2.19
// description; 2.54 key_name; 2.57 user_data; 2.63
// trusted_image_certificates; 2.90 hostname. Each is validated as nova
// does. What gonova's computes cannot honour is then refused with a 400
// saying so rather than dropped: files to inject (personality), a key
// pair, user data and trusted certificates.
func parseRebuild(v any, mv microversion.Version) (any, error) {
	obj, err := checkObject("rebuild", v)
	if err != nil {
		return nil, err
	}
	allowed := []string{"name", "imageRef", "adminPass", "metadata", "preserve_ephemeral", "OS-DCF:diskConfig", "accessIPv4", "accessIPv6"}
	if !mv.AtLeast(2, 57) {
		allowed = append(allowed, "personality")
	}
	for _, x := range []struct {
		key        string
		major, min int
	}{{"description", 2, 19}, {"key_name", 2, 54}, {"user_data", 2, 57}, {"trusted_image_certificates", 2, 63}, {"hostname", 2, 90}} {
		if mv.AtLeast(x.major, x.min) {
			allowed = append(allowed, x.key)
		}
	}
	if err := checkKeys("rebuild", obj, []string{"imageRef"}, allowed...); err != nil {
		return nil, err
	}
	var b rebuildBody
	img, err := (stringRule{}).check("imageRef", obj["imageRef"])
	if err != nil {
		return nil, err
	}
	canon, ok := uuidLike(img)
	if !ok {
		return nil, invalidField("imageRef", img, fmt.Sprintf("%s is not a 'uuid'", wsgi.PyRepr(img)))
	}
	b.imageRef = canon
	edit, err := parseServerEdit(obj)
	if err != nil {
		return nil, err
	}
	b.name, b.description, b.hostname = edit.name, edit.description, edit.hostname
	if raw, ok := obj["adminPass"]; ok {
		p, err := (stringRule{}).check("adminPass", raw)
		if err != nil {
			return nil, err
		}
		b.adminPass = &p
	}
	if raw, ok := obj["metadata"]; ok {
		m, err := checkMetadata(raw)
		if err != nil {
			return nil, err
		}
		b.metadata = &m
	}
	if raw, ok := obj["preserve_ephemeral"]; ok {
		if _, err := checkBoolean("preserve_ephemeral", raw); err != nil {
			return nil, err
		}
	}
	if raw, ok := obj["key_name"]; ok {
		k := ""
		if raw != nil {
			if k, err = checkName("key_name", raw); err != nil {
				return nil, err
			}
		}
		b.keyName = &k
	}
	if err := refuseUnsupportedRebuild(obj); err != nil {
		return nil, err
	}
	return b, nil
}

// refuseUnsupportedRebuild validates the rebuild keys gonova cannot
// honour as nova's schema does, then refuses those that ask for something
// (a null user_data or trusted_image_certificates asks for
// nothing: nova then unsets it, and gonova has none to unset).
func refuseUnsupportedRebuild(obj map[string]any) error {
	if raw, ok := obj["personality"]; ok {
		list, isList := raw.([]any)
		if !isList {
			return invalidField("personality", raw, fmt.Sprintf("%s is not of type 'array'", wsgi.PyRepr(raw)))
		}
		if len(list) > 0 {
			return fault.BadRequest("Injecting files (personality) is not supported: gonova's computes have no file injection.")
		}
	}
	if raw, ok := obj["user_data"]; ok && raw != nil {
		if _, err := (stringRule{max: 65535}).check("user_data", raw); err != nil {
			return err
		}
		return fault.BadRequest("Rebuilding with user_data is not supported: gonova's servers carry no user data.")
	}
	if raw, ok := obj["trusted_image_certificates"]; ok && raw != nil {
		if _, isList := raw.([]any); !isList {
			return invalidField("trusted_image_certificates", raw, fmt.Sprintf("%s is not of type 'array', 'null'", wsgi.PyRepr(raw)))
		}
		return fault.BadRequest("Image certificate validation (trusted_image_certificates) is not supported by gonova's computes.")
	}
	return nil
}

// rebuild is the rebuild action: the server, the rebuild policy on its
// user and project, compute.API's rebuild; 202 with the server (the
// fields nova's rebuild view has, all of GET's from 2.75) and adminPass
// (the given one, or a generated one, as nova with enable_instance_password).
func (h *handlers) rebuild(w http.ResponseWriter, r *http.Request, arg any) error {
	b := arg.(rebuildBody)
	id := chi.URLParam(r, "id")
	in, err := h.getServer(r, id, polServersRebuild, true)
	if err != nil {
		return err
	}
	// nova's _validate_image_metadata at rebuild: the image must exist at
	// Glance (when one is configured) and fit the server's flavor.
	if _, err := h.checkImage(r, b.imageRef, imageFlavor{MemoryMB: in.MemoryMB, RootGB: in.RootGB}, rebuildImageCheck); err != nil {
		return err
	}
	if b.keyName != nil && *b.keyName != "" {
		if _, err := h.compute.GetKeyPair(r.Context(), caller(r).UserID, *b.keyName); errors.Is(err, computedb.ErrNotFound) {
			return fault.BadRequest("Invalid key_name provided.")
		} else if err != nil {
			return err
		}
	}
	pass := generatePassword()
	if b.adminPass != nil {
		pass = *b.adminPass
	}
	out, err := h.capi.Rebuild(r.Context(), h.computeCaller(r), computeapi.RebuildRequest{Instance: in, ImageRef: b.imageRef,
		AdminPass: &pass, Name: b.name, Description: b.description, Hostname: b.hostname, Metadata: b.metadata, KeyName: b.keyName})
	if err != nil {
		return serverFault(err, id)
	}
	vc, err := h.actionViewContext(r, &out)
	if err != nil {
		return err
	}
	vc.rebuild = true
	view := actionView(vc, out)
	view["adminPass"] = pass
	// nova's rebuild view shows the (new) key_name from 2.54 and the
	// server's user_data, top level, from 2.57 (show_keypair, and
	// include_user_data after the view).
	if vc.version.AtLeast(2, 54) {
		view["key_name"] = nullString(out.KeyName)
	}
	if vc.version.AtLeast(2, 57) {
		view["user_data"] = nil // gonova's servers carry no user data
	}
	if err := h.addServerGroups(r, out, view); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"server": view})
	return nil
}
