// Package wire encodes and decodes oslo.messaging's RabbitMQ message bodies:
// the 2.0 envelope, the legacy 1.0 bare dict, RPC requests with their flattened
// `_context_*` request context, replies and serialized remote exceptions.
//
// # Why
//
// gonova and Python services share one broker and must read each other's
// messages byte for byte. The format is small but full of details that only
// show when a real peer meets them: the envelope's inner message is a JSON
// *text* inside a JSON object, a body that lacks either envelope key is a legacy
// message, `failure` is again JSON text, `_timeout` may be null, an integer or a
// float, and the context is spread over `_context_<key>` keys at the top level
// of the request. This package knows those details so that nothing else has to,
// and it is the place where hostile or malformed input is rejected with an
// error naming what is wrong.
//
// Decoding is strict about types (method must be a non-empty string, args an
// object, ...) but tolerant about presence in the ways oslo is (a request
// without args means no arguments, a request without version means 1.0, null
// namespace means none). Keys are matched case-sensitively, unlike
// encoding/json's struct decoding, because `_msg_id` and `_Msg_Id` are
// different keys to Python.
//
// A consumer decodes a body with DecodeRequest, dead-letters it when that
// fails (the error names what is wrong) and answers a call with EncodeReply;
// see the package example.
//
// # Logging
//
// None: errors are returned to the caller, which logs them with its own context.
//
// # Metrics
//
// None.
package wire
