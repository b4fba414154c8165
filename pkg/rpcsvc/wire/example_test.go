package wire_test

import (
	"encoding/json"
	"fmt"

	"github.com/gonova/gonova/pkg/rpcsvc/wire"
)

// A consumer decodes a request body, dead-letters it when that fails, and
// answers a call with an encoded reply.
func Example() {
	body := []byte(`{"oslo.version": "2.0", "oslo.message": "{\"method\": \"ping\", \"args\": {\"arg\": \"x\"}, \"namespace\": \"baseapi\", \"version\": \"1.1\", \"_msg_id\": \"m1\", \"_reply_q\": \"reply_1\", \"_context_request_id\": \"req-1\"}"}`)
	req, err := wire.DecodeRequest(body)
	if err != nil {
		fmt.Println("dead-letter:", err) // the error names what is wrong
		return
	}
	fmt.Println(req.Method, req.Namespace, req.Version, string(req.Args), req.IsCall(), req.ContextKeys())

	reply, _ := wire.EncodeReply(&wire.Reply{MsgID: req.MsgID, Result: json.RawMessage(`"pong"`), Ending: true})
	back, _ := wire.DecodeReply(reply)
	fmt.Println(back.MsgID, string(back.Result), back.Ending)

	_, err = wire.DecodeRequest([]byte(`{"method": 5}`))
	fmt.Println(err)
	// Output:
	// ping baseapi 1.1 {"arg":"x"} true [request_id]
	// m1 "pong" true
	// malformed oslo.messaging message: request "method" must be a non-empty string, got 5
}
