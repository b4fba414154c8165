package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
	"github.com/gonova/gonova/pkg/wsgi/policy"
)

// DefaultKeyPairLimit is nova's [quota] key_pairs: the key pairs a user may
// hold.
const DefaultKeyPairLimit = 100

// keypairNameChars are the characters nova's keypair_name_20 (before
// 2.92) and keypair_name_292 formats allow.
const (
	keypairNameChars    = "_- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	keypairNameChars292 = "@._- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)

// keypairCreate is a validated POST /os-keypairs body.
type keypairCreate struct {
	name, publicKey, keyType, userID string
	hasPublicKey                     bool
}

// parseKeypairCreate is nova's create schemas: create (2.1), create_v22
// (type), create_v210 (user_id), create_v292 (public_key required, more
// name characters).
func parseKeypairCreate(body map[string]any, v microversion.Version) (keypairCreate, error) {
	c := keypairCreate{keyType: "ssh"}
	if err := checkKeys("", body, []string{"keypair"}); err != nil {
		return c, err
	}
	kp, err := checkObject("keypair", body["keypair"])
	if err != nil {
		return c, err
	}
	required, allowed := []string{"name"}, []string{"public_key"}
	if v.AtLeast(2, 2) {
		allowed = append(allowed, "type")
	}
	if v.AtLeast(2, 10) {
		allowed = append(allowed, "user_id")
	}
	if v.AtLeast(2, 92) {
		required = append(required, "public_key")
	}
	if err := checkKeys("keypair", kp, required, allowed...); err != nil {
		return c, err
	}
	if c.name, err = checkName("name", kp["name"]); err != nil {
		return c, err
	}
	safe := keypairNameChars
	if v.AtLeast(2, 92) {
		safe = keypairNameChars292
	}
	for _, ch := range c.name {
		if !strings.ContainsRune(safe, ch) {
			return c, fault.BadRequest(fmt.Sprintf("An invalid 'name' value was provided. The name must be: Only expected characters: [%s]", safe))
		}
	}
	if raw, ok := kp["public_key"]; ok {
		if c.publicKey, err = (stringRule{}).check("public_key", raw); err != nil {
			return c, err
		}
		c.hasPublicKey = true
	}
	if raw, ok := kp["type"]; ok {
		if c.keyType, err = (stringRule{enum: []string{"ssh", "x509"}}).check("type", raw); err != nil {
			return c, err
		}
	}
	if raw, ok := kp["user_id"]; ok {
		if c.userID, err = (stringRule{}).check("user_id", raw); err != nil {
			return c, err
		}
	}
	return c, nil
}

// keypairUser is the user a request acts for: ?user_id= from 2.10 (nova
// takes the first), else the caller.
func keypairUser(r *http.Request, fromBody string) string {
	if fromBody != "" {
		return fromBody
	}
	if microversion.FromContext(r.Context()).AtLeast(2, 10) {
		if vs, ok := r.URL.Query()["user_id"]; ok && len(vs) > 0 && vs[0] != "" {
			return vs[0]
		}
	}
	if c := caller(r); c != nil {
		return c.UserID
	}
	return ""
}

// checkKeypairQuery applies the query schemas of index, show and delete:
// from 2.75 only user_id (and limit and marker on index) are allowed.
func checkKeypairQuery(r *http.Request, index bool) error {
	v := microversion.FromContext(r.Context())
	if !v.AtLeast(2, 75) {
		return nil
	}
	allowed := []string{"user_id"}
	if index {
		allowed = append(allowed, "limit", "marker")
	}
	return checkQueryKeys(r.URL.Query(), allowed...)
}

func keypairNotFound(name, user string) error {
	return fault.NotFound(fmt.Sprintf("Keypair %s not found for user %s", name, user))
}

// keyPairLimit is the limit for user.
func (h *handlers) keyPairLimit(ctx context.Context, user string) int {
	if h.keyPairLimitFn == nil {
		return DefaultKeyPairLimit
	}
	return h.keyPairLimitFn(ctx, user)
}

// createKeypair is POST /os-keypairs: import a public key, or (before
// 2.92) generate a key pair and return its private key, once.
func (h *handlers) createKeypair(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := microversion.FromContext(ctx)
	body, err := h.decodeObject(r)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	req, err := parseKeypairCreate(body, v)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	user := keypairUser(r, req.userID)
	if err := h.enf.AuthorizeTarget(ctx, polKeypairsCreate, policy.Target{"user_id": user}); err != nil {
		fault.Write(w, r, err)
		return
	}
	kp := computedb.KeyPair{Name: req.name, UserID: user, Type: req.keyType, PublicKey: req.publicKey}
	var private string
	switch {
	case req.hasPublicKey && req.keyType == "x509":
		kp.Fingerprint, err = x509Fingerprint(req.publicKey)
	case req.hasPublicKey:
		kp.Fingerprint, err = sshFingerprint(req.publicKey)
	case req.keyType == "x509":
		private, kp.PublicKey, kp.Fingerprint, err = generateX509(user)
	default:
		private, kp.PublicKey, kp.Fingerprint, err = generateSSHKey()
	}
	if err != nil {
		if req.hasPublicKey {
			err = fault.BadRequest("Keypair data is invalid: " + err.Error())
		}
		fault.Write(w, r, err)
		return
	}
	created, err := h.compute.CreateKeyPair(ctx, kp, h.keyPairLimit(ctx, user))
	switch {
	case errors.Is(err, computedb.ErrKeyPairLimit):
		err = fault.Forbidden("Quota exceeded, too many key pairs.")
	case errors.Is(err, computedb.ErrConflict):
		err = fault.Conflict(fmt.Sprintf("Key pair '%s' already exists.", req.name))
	}
	if err != nil {
		fault.Write(w, r, serverFault(err, ""))
		return
	}
	out := map[string]any{"name": created.Name, "public_key": created.PublicKey, "fingerprint": created.Fingerprint, "user_id": created.UserID}
	if !req.hasPublicKey {
		out["private_key"] = private
	}
	code := http.StatusOK
	if v.AtLeast(2, 2) {
		out["type"] = created.Type
		code = http.StatusCreated
	}
	writeJSON(w, code, map[string]any{"keypair": out})
}

// listKeypairs is GET /os-keypairs (2.35: limit and marker, a next link).
func (h *handlers) listKeypairs(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := microversion.FromContext(ctx)
	if err := checkKeypairQuery(r, true); err != nil {
		fault.Write(w, r, err)
		return
	}
	user := keypairUser(r, "")
	limit, marker := 0, ""
	if v.AtLeast(2, 35) {
		var err error
		if limit, marker, _, err = h.pageParams(r.URL.Query()); err != nil {
			fault.Write(w, r, err)
			return
		}
	}
	if err := h.enf.AuthorizeTarget(ctx, polKeypairsIndex, policy.Target{"user_id": user}); err != nil {
		fault.Write(w, r, err)
		return
	}
	if v.AtLeast(2, 35) && limit == 0 {
		// limit=0 is an empty page, as nova's paginate_query.
		writeJSON(w, http.StatusOK, map[string]any{"keypairs": []any{}})
		return
	}
	kps, err := h.compute.ListKeyPairs(ctx, user, limit, marker)
	if errors.Is(err, computedb.ErrNotFound) {
		err = fault.BadRequest(fmt.Sprintf("Marker %s could not be found.", marker))
	}
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	out := make([]map[string]any, len(kps))
	for i, kp := range kps {
		item := map[string]any{"name": kp.Name, "public_key": kp.PublicKey, "fingerprint": kp.Fingerprint}
		if v.AtLeast(2, 2) {
			item["type"] = kp.Type
		}
		out[i] = map[string]any{"keypair": item}
	}
	resp := map[string]any{"keypairs": out}
	if v.AtLeast(2, 35) && limit > 0 && len(kps) == limit {
		resp["keypairs_links"] = []link{nextLink(r, "/v2.1/os-keypairs", limit, kps[len(kps)-1].Name)}
	}
	writeJSON(w, http.StatusOK, resp)
}

// showKeypair is GET /os-keypairs/{name}.
func (h *handlers) showKeypair(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := checkKeypairQuery(r, false); err != nil {
		fault.Write(w, r, err)
		return
	}
	user, name := keypairUser(r, ""), chi.URLParam(r, "name")
	if err := h.enf.AuthorizeTarget(ctx, polKeypairsShow, policy.Target{"user_id": user}); err != nil {
		fault.Write(w, r, err)
		return
	}
	kp, err := h.compute.GetKeyPair(ctx, user, name)
	if errors.Is(err, computedb.ErrNotFound) {
		err = keypairNotFound(name, user)
	}
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	out := map[string]any{"name": kp.Name, "public_key": kp.PublicKey, "fingerprint": kp.Fingerprint, "user_id": kp.UserID,
		"created_at": kp.CreatedAt.UTC().Format(novaTimeLayout), "deleted": false, "deleted_at": nil, "id": kp.ID,
		"updated_at": nullTime(kp.UpdatedAt, novaTimeLayout)}
	if microversion.FromContext(ctx).AtLeast(2, 2) {
		out["type"] = kp.Type
	}
	writeJSON(w, http.StatusOK, map[string]any{"keypair": out})
}

// deleteKeypair is DELETE /os-keypairs/{name}: 202 at 2.1, 204 after.
func (h *handlers) deleteKeypair(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := checkKeypairQuery(r, false); err != nil {
		fault.Write(w, r, err)
		return
	}
	user, name := keypairUser(r, ""), chi.URLParam(r, "name")
	if err := h.enf.AuthorizeTarget(ctx, polKeypairsDelete, policy.Target{"user_id": user}); err != nil {
		fault.Write(w, r, err)
		return
	}
	err := h.compute.DeleteKeyPair(ctx, user, name)
	if errors.Is(err, computedb.ErrNotFound) {
		err = keypairNotFound(name, user)
	}
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	if microversion.FromContext(ctx).AtLeast(2, 2) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
