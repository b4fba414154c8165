package notify

import (
	"bytes"
	"encoding/json"
	"strings"
)

// sanitizeKeys are oslo_utils.strutils._SANITIZE_KEYS: a key containing any
// of them (case-insensitively) has its value masked by the log driver.
var sanitizeKeys = []string{"adminpass", "admin_pass", "password", "admin_password", "auth_token", "new_pass",
	"auth_password", "secret_uuid", "secret", "sys_pswd", "token", "configdrive", "chappassword", "encrypted_key",
	"private_key", "fernetkey", "sslkey", "passphrase", "cephclusterfsid", "octaviaheartbeatkey", "rabbitcookie",
	"cephmanilaclientkey", "pacemakerremoteauthkey", "designaterndckey", "cephadminkey", "heatauthencryptionkey",
	"cephclientkey", "keystonecredential", "barbicansimplecryptokek", "cephrgwkey", "swifthashsuffix",
	"migrationsshkey", "cephmdskey", "cephmonkey"}

// maskSecrets is oslo's mask_dict_password on a JSON object: values under
// secret-looking keys become "***", nested objects are masked too (lists are
// left alone, as oslo leaves them). Secrets inside string values are not
// searched for, unlike oslo's mask_password.
func maskSecrets(body []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return body
	}
	out, err := marshal(maskMap(m))
	if err != nil {
		return body
	}
	return out
}

func maskMap(m map[string]any) map[string]any {
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			m[k] = maskMap(sub)
			continue
		}
		lk := strings.ToLower(k)
		for _, s := range sanitizeKeys {
			if strings.Contains(lk, s) {
				m[k] = "***"
				break
			}
		}
	}
	return m
}
