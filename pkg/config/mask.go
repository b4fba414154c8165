package config

import "github.com/gonova/gonova/pkg/gmr"

// display is the one place pkg/config renders an option's value for people:
// every Error message, the "ignored option" entries, Masked() and so String(),
// the Guru Meditation Report and the reload log all go through it.
//
// The rules, so that no secret reaches any output:
//   - an option gonova does not know is never shown (ok is false): any value
//     may be a secret, and nova's old options held passwords
//     ([oslo_messaging_rabbit] rabbit_password, a [DEFAULT] connection that
//     belongs in [database]);
//   - a secret option of the table (transport_url, [database] connection) is
//     shown through gmr.MaskSecretURL: the password of every host masked, and
//     the whole value hidden when it is not scheme://...;
//   - any other option is shown through gmr.MaskValue, the report's rule: a
//     name containing password, secret, token or key hides the whole value, a
//     name containing url or connection shows it through MaskSecretURL, and
//     the userinfo of every URL in any value is masked.
//
// Rendering twice gives the same text, so an Error built from an already
// rendered value prints the same as one built from the raw value.
func display(section, name, value string) (shown string, ok bool) {
	o, known := lookup(section, name)
	if !known {
		return "", false
	}
	switch {
	case o.password && value != "":
		return "***", true // a password, whatever it looks like
	case o.secret:
		return gmr.MaskSecretURL(value), true
	}
	return gmr.MaskValue(name, value), true
}

func lookup(section, name string) (option, bool) {
	for _, o := range options {
		if o.section == section && o.name == name {
			return o, true
		}
	}
	return option{}, false
}

// valueError is how every Error about a value is built: Value holds the
// rendered value, never the raw one.
func valueError(src, section, name, value string, err error) *Error {
	shown, _ := display(section, name, value)
	return &Error{Source: src, Section: section, Option: name, Value: shown, Err: err}
}
