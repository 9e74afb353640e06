package packet

import "strconv"

// ConnectReturnCode is the server's answer to a CONNECT (section 3.2.2.3).
type ConnectReturnCode byte

// The return codes of MQTT 3.1.1; 6 to 255 are reserved.
const (
	Accepted                     ConnectReturnCode = 0
	RefusedProtocolVersion       ConnectReturnCode = 1
	RefusedIdentifierRejected    ConnectReturnCode = 2
	RefusedServerUnavailable     ConnectReturnCode = 3
	RefusedBadUserNameOrPassword ConnectReturnCode = 4
	RefusedNotAuthorized         ConnectReturnCode = 5
)

var returnCodeText = [...]string{
	"connection accepted",
	"connection refused: unacceptable protocol version",
	"connection refused: identifier rejected",
	"connection refused: server unavailable",
	"connection refused: bad user name or password",
	"connection refused: not authorized",
}

// String describes the code as the spec does, e.g. "connection refused: not
// authorized".
func (c ConnectReturnCode) String() string {
	if c.Valid() {
		return returnCodeText[c]
	}
	return "reserved return code " + strconv.Itoa(int(c))
}

// Valid reports whether c is one of the six codes MQTT 3.1.1 defines.
func (c ConnectReturnCode) Valid() bool { return c <= RefusedNotAuthorized }

// Connack is a CONNACK packet (section 3.2), the server's answer to CONNECT.
type Connack struct {
	SessionPresent bool              // the server holds a session for this ClientId; only with Accepted [MQTT-3.2.2-4]
	ReturnCode     ConnectReturnCode // Accepted, or why the connection is refused
}

// Type returns TypeConnack.
func (*Connack) Type() Type { return TypeConnack }

// Size returns the length of the encoded packet: always 4.
func (*Connack) Size() int { return 4 }

// AppendBinary validates p and appends its encoding to b.
func (p *Connack) AppendBinary(b []byte) ([]byte, error) {
	if err := p.validate(); err != nil {
		return b, err
	}
	return p.appendUnchecked(b), nil
}

func (p *Connack) validate() error {
	if !p.ReturnCode.Valid() {
		return perr(TypeConnack, "return code", "3.2.2.3", ErrReturnCode)
	}
	if p.SessionPresent && p.ReturnCode != Accepted {
		return perr(TypeConnack, "session present", "MQTT-3.2.2-4", ErrConnackFlags)
	}
	return nil
}

func (p *Connack) appendUnchecked(b []byte) []byte {
	var flags byte
	if p.SessionPresent {
		flags = 1
	}
	return append(b, byte(TypeConnack)<<4, 2, flags, byte(p.ReturnCode))
}

// Decode decodes the CONNACK packet at the front of b into p and returns the
// number of bytes it took.
func (p *Connack) Decode(b []byte) (int, error) { return decodeInto(b, TypeConnack, p) }

func (p *Connack) decode(flags byte, b []byte) error {
	if err := checkFlags(TypeConnack, flags); err != nil {
		return err
	}
	if err := checkFixedLength(TypeConnack, len(b)); err != nil {
		return err
	}
	if b[0]&^1 != 0 {
		return perr(TypeConnack, "acknowledge flags", "3.2.2.1", ErrConnackFlags)
	}
	p.SessionPresent = b[0] == 1
	p.ReturnCode = ConnectReturnCode(b[1])
	return p.validate()
}
