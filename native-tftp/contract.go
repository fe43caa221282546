//go:build linux

package main

// The worker contract, Go side: the messages of app/engines/tftp/worker-protocol.ts, one JSON object
// per line. Golden lines in test/fixtures/worker-protocol/ are checked by contract_test.go and by
// test/unit/tftp-worker-protocol.test.ts, so the two sides cannot drift. A change of shape bumps
// Protocol here and TFTP_WORKER_PROTOCOL there (the engine passes it as --protocol; a pump of another
// version refuses to start and the engine keeps transfers in Node).

// Protocol is TFTP_WORKER_PROTOCOL in worker-protocol.ts.
const Protocol = 3

// Message kinds, both directions.
const (
	kindStart     = "start"
	kindResend    = "resend"
	kindSupersede = "supersede"
	kindStop      = "stop"

	kindEvent   = "event"
	kindRefused = "refused"
	kindStale   = "stale"
	kindClosed  = "closed"
	kindOpened  = "opened"
	kindLog     = "log"
	kindStopped = "stopped"
)

// Failure codes this data path reports (TransferFailureCode in app/shared/events.ts; the engine
// checks them against TFTP_FAILURE_CODES in worker-protocol.ts).
const (
	failClientSilent     = "client-silent"      // retries ran out: the client stopped acknowledging
	failLastBlockUnacked = "last-block-unacked" // ... while it still acknowledged the block before the last
	failClientError      = "client-error"       // the client sent an ERROR during the data phase
	failOptionRefused    = "option-refused"     // the client answered our OACK with ERROR 8 (RFC 2347)
	failReadError        = "read-error"         // our read of the file failed
	failSuperseded       = "superseded"         // the client sent a new request from the same port
	failInternal         = "internal"           // socket trouble on our side
)

type identity struct {
	Dev     float64 `json:"dev"`
	Ino     float64 `json:"ino"`
	Size    int64   `json:"size"`
	MtimeMs float64 `json:"mtimeMs"`
}

// extent is one byte range of the file at Path (version 3): a file inside an ISO image is sent as
// its extents of the image, in order; sparse ranges read as zeros (UDF unrecorded extents).
type extent struct {
	Offset int64 `json:"offset"`
	Length int64 `json:"length"`
	Sparse bool  `json:"sparse,omitempty"`
}

// toPump is every message from the engine (kind start, resend, supersede or stop).
type toPump struct {
	Kind   string `json:"kind"`
	ID     string `json:"id"`
	Key    string `json:"key"` // the engine's registry key (client address:port); not used here
	Client struct {
		Address string `json:"address"`
		Port    int    `json:"port"`
	} `json:"client"`
	File         string     `json:"file"`
	Path         string     `json:"path"`
	Identity     *identity  `json:"identity"`
	Extents      []extent   `json:"extents"` // absent: the whole file
	Data         []byte     `json:"data"`    // base64: virtual files and netascii text
	Neg          negotiated `json:"neg"`
	Oack         []byte     `json:"oack"` // base64; absent when nothing was negotiated
	RetransmitMs int        `json:"retransmitMs"`
	MaxRetries   int        `json:"maxRetries"`
}

// failure is TransferFailure: what went wrong, as data, beside the reason text for humans.
type failure struct {
	Code string `json:"code"`
	// The first block the client had not acknowledged (0: the OACK); absent when no packet went out.
	Block *int64 `json:"block,omitempty"`
}

type eventMsg struct {
	Kind    string         `json:"kind"`
	ID      string         `json:"id"`
	Type    string         `json:"type"` // start, progress, done, failed
	Bytes   int64          `json:"bytes"`
	Rate    *int64         `json:"rate,omitempty"` // a pointer: a rate of 0 (a tsize probe) is still sent
	Reason  string         `json:"reason,omitempty"`
	Failure *failure       `json:"failure,omitempty"`
	Extra   map[string]any `json:"extra,omitempty"`
}

type refusedMsg struct {
	Kind   string `json:"kind"`
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

type staleMsg struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

type closedMsg struct {
	Kind      string `json:"kind"`
	ID        string `json:"id"`
	Sent      int    `json:"sent"`
	Malformed int    `json:"malformed"`
	OpenFiles int    `json:"openFiles"`
}

type openedMsg struct {
	Kind      string `json:"kind"`
	OpenFiles int    `json:"openFiles"`
}

type logMsg struct {
	Kind    string         `json:"kind"`
	Level   string         `json:"level"` // debug or warn
	Message string         `json:"message"`
	Fields  map[string]any `json:"fields"`
}

type stoppedMsg struct {
	Kind string `json:"kind"`
}

func refused(id, reason string) refusedMsg {
	return refusedMsg{Kind: kindRefused, ID: id, Reason: reason}
}

func stale(id string) staleMsg { return staleMsg{Kind: kindStale, ID: id} }

func closed(id string, sent, malformed, openFiles int) closedMsg {
	return closedMsg{Kind: kindClosed, ID: id, Sent: sent, Malformed: malformed, OpenFiles: openFiles}
}

func opened(openFiles int) openedMsg { return openedMsg{Kind: kindOpened, OpenFiles: openFiles} }

func logLine(level, message string, fields map[string]any) logMsg {
	if fields == nil {
		fields = map[string]any{}
	}
	return logMsg{Kind: kindLog, Level: level, Message: message, Fields: fields}
}

func stopped() stoppedMsg { return stoppedMsg{Kind: kindStopped} }
