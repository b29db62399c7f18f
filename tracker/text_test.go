package tracker

import (
	"encoding"
	"strings"
	"testing"
)

// textValue is a value that encodes as text and decodes back.
type textValue interface {
	encoding.TextMarshaler
	encoding.TextUnmarshaler
}

// TestTextRoundTrip: every state, side, kind and severity marshals as its
// String form and unmarshals back to itself.
func TestTextRoundTrip(t *testing.T) {
	check := func(v textValue, fresh textValue, same func() bool) {
		t.Helper()
		b, err := v.MarshalText()
		if err != nil || string(b) != v.(interface{ String() string }).String() {
			t.Errorf("%v: MarshalText = %q, %v; want its String form", v, b, err)
		}
		if err := fresh.UnmarshalText(b); err != nil || !same() {
			t.Errorf("UnmarshalText(%q) = %v, %v", b, fresh, err)
		}
	}
	for _, s := range States() {
		var got State
		check(&s, &got, func() bool { return got == s })
	}
	for _, s := range []Side{Client, Server} {
		var got Side
		check(&s, &got, func() bool { return got == s })
	}
	for _, k := range Kinds() {
		var got Kind
		check(&k, &got, func() bool { return got == k })
	}
	for _, s := range []Severity{Info, Warning, Critical} {
		var got Severity
		check(&s, &got, func() bool { return got == s })
	}
}

// TestTextUnknown: values outside the enums still marshal (output always
// encodes); names outside them do not unmarshal, and the error quotes them.
func TestTextUnknown(t *testing.T) {
	for _, v := range []encoding.TextMarshaler{State(17), Kind(0), Kind(99), Severity(7)} {
		if b, err := v.MarshalText(); err != nil || len(b) == 0 {
			t.Errorf("%#v: MarshalText = %q, %v; want its String form", v, b, err)
		}
	}
	var (
		st State
		sd Side
		k  Kind
		sv Severity
	)
	for _, tc := range []struct {
		v    encoding.TextUnmarshaler
		in   string
		want string
	}{
		{&st, "FIN_WAIT_3", `parse state "FIN_WAIT_3"`},
		{&st, "", `parse state ""`},
		{&sd, "both", `parse side "both"`},
		{&k, "Kind(0)", `parse anomaly kind "Kind(0)"`},
		{&sv, "WARNING", `parse severity "WARNING"`},
	} {
		err := tc.v.UnmarshalText([]byte(tc.in))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("UnmarshalText(%q) = %v; want one line starting %s", tc.in, err, tc.want)
		}
	}
	if st != Closed || sd != Client || k != 0 || sv != Info {
		t.Errorf("a failed UnmarshalText changed its value: %v %v %v %v", st, sd, k, sv)
	}
}

// TestStateUnmarshalAcceptsSS: the names ss prints decode too.
func TestStateUnmarshalAcceptsSS(t *testing.T) {
	var s State
	if err := s.UnmarshalText([]byte("SYN-RECV")); err != nil || s != SynRcvd {
		t.Errorf("UnmarshalText(SYN-RECV) = %v, %v; want SYN_RCVD", s, err)
	}
}
