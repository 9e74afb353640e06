package broker

import (
	"strings"
	"testing"
)

// TestPasswordFileReplace checks that Replace gives a password file
// another's users for the logins that follow, forgets the logins it
// remembered, and keeps AllowAnonymous.
func TestPasswordFileReplace(t *testing.T) {
	f := NewPasswordFile()
	f.AllowAnonymous = true
	if err := f.SetIterations("alice", "old", testIterations); err != nil {
		t.Fatal(err)
	}
	if !f.Check("alice", "old") || !f.remembered("alice", "old") {
		t.Fatal("alice's first login failed or was not remembered")
	}
	g := NewPasswordFile()
	for u, pw := range map[string]string{"alice": "new", "bob": "bob-pw"} {
		if err := g.SetIterations(u, pw, testIterations); err != nil {
			t.Fatal(err)
		}
	}
	f.Replace(g)
	if f.Check("alice", "old") {
		t.Error("alice's old password still works after Replace")
	}
	if !f.Check("alice", "new") || !f.Check("bob", "bob-pw") {
		t.Error("the new file's passwords do not work")
	}
	if got := strings.Join(f.Users(), ","); got != "alice,bob" || !f.AllowAnonymous {
		t.Errorf("users %s, AllowAnonymous %v", got, f.AllowAnonymous)
	}
	g.Remove("bob") // f holds its own copy
	if !f.Check("bob", "bob-pw") {
		t.Error("a change to the replacing file reached f")
	}
	f.Replace(f)
	if len(f.Users()) != 2 {
		t.Error("Replace with itself changed f")
	}
}

// TestACLReplace checks that Replace swaps an ACL's rules at once, and
// that rules added to the replacing ACL later stay its own.
func TestACLReplace(t *testing.T) {
	a, err := ParseACL(strings.NewReader("user alice\ntopic readwrite a/#\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseACL(strings.NewReader("user alice\ntopic read b/#\n"))
	if err != nil {
		t.Fatal(err)
	}
	alice := Identity{ClientID: "c", Username: "alice"}
	if !a.CanPublish(alice, "a/1") {
		t.Fatal("the first ACL does not grant a/1")
	}
	a.Replace(b)
	if a.CanPublish(alice, "a/1") || !a.CanSubscribe(alice, "b/1") || a.CanPublish(alice, "b/1") {
		t.Error("after Replace, the ACL does not decide as the new rules say")
	}
	if err := b.Allow("alice", Write, "c/#"); err != nil {
		t.Fatal(err)
	}
	if a.CanPublish(alice, "c/1") || !b.CanPublish(alice, "c/1") {
		t.Error("a rule added to the replacing ACL reached the replaced one, or not the replacing one")
	}
	a.Replace(NewACL())
	if a.CanSubscribe(alice, "b/1") {
		t.Error("an empty ACL after Replace still grants b/1")
	}
}
