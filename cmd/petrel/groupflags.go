package main

import (
	"flag"
	"strings"
)

// expandGroups returns args with each group of one-letter boolean flags
// ("-rd", "-cv") written out as separate flags ("-r", "-d"), so that the
// flag package, which reads "-rd" as one flag named "rd", takes them.
// A word is a group only where a flag may stand (not the value of the
// flag before it) and only if it names no flag itself: "-cafile" stays
// the long flag. A group with a letter that is not a boolean flag is an
// error naming it.
//
// mosquitto_pub and mosquitto_sub 2.0.11 refuse groups ("Error: Unknown
// option '-rd'"): this is petrel's own convenience.
func expandGroups(fs *flag.FlagSet, args []string) ([]string, error) {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || len(a) < 2 || a[0] != '-' {
			return append(out, args[i:]...), nil // the flag package stops here too
		}
		name := strings.TrimLeft(a, "-")
		if eq := strings.IndexByte(name, '='); eq >= 0 {
			out = append(out, a)
			continue
		}
		if f := fs.Lookup(name); f != nil || name == "help" || name == "h" {
			out = append(out, a)
			if f != nil && !isBool(f) && i+1 < len(args) {
				i++
				out = append(out, args[i]) // its value, whatever it looks like
			}
			continue
		}
		if strings.HasPrefix(a, "--") || len(name) < 2 {
			out = append(out, a) // the flag package reports it
			continue
		}
		for j := 0; j < len(name); j++ {
			f := fs.Lookup(name[j : j+1])
			switch {
			case f == nil:
				return nil, usageErr("%s: neither a flag nor a group of one-letter flags: -%c is not a flag", a, name[j])
			case !isBool(f) && j == 0:
				return nil, usageErr("%s: -%c takes a value, as a word of its own: write -%c %s", a, name[j], name[j], name[1:])
			case !isBool(f):
				return nil, usageErr("%s: -%c takes a value, so it cannot be grouped: write it apart (-%s -%c value)", a, name[j], name[:j]+name[j+1:], name[j])
			}
		}
		for j := 0; j < len(name); j++ {
			out = append(out, "-"+name[j:j+1])
		}
	}
	return out, nil
}

// isBool reports whether f is a boolean flag, which takes no value.
func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}
