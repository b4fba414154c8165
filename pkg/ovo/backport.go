package ovo

import "fmt"

// makeCompatible is oslo's obj_make_compatible(_from_manifest) for data, the
// ".data" of a primitive of class e encoded at e's version: it drops the
// fields added after target, backports each sub-object to the version its
// relationship (or the manifest) gives for target, removes sub-objects that
// did not exist at target, then runs the class's Compat hook.
func (r *Registry) makeCompatible(e *entry, data map[string]any, target Version, manifest map[string]string) error {
	fail := func(field string, err error) error {
		return &Error{Object: e.class.Name, Version: target.String(), Field: field, Err: err}
	}
	for i := range e.fields {
		f := &e.fields[i]
		if f.hasAdded && target.Compare(f.added) < 0 {
			delete(data, f.Name)
		}
	}
	for i := range e.fields {
		f := &e.fields[i]
		objName := f.Type.objectName()
		val, set := data[f.Name]
		if objName == "" || !set || val == nil {
			continue
		}
		var rels []Rel
		if manifest != nil {
			v, ok := manifest[objName]
			if !ok {
				continue // the receiver did not list it: leave it as it is, as oslo does
			}
			rels = []Rel{{Parent: target.String(), Child: v}}
		} else {
			var ok bool
			if rels, ok = e.class.Relationships[f.Name]; !ok {
				return fail(f.Name, fmt.Errorf("%w: no relationship rule to backport %s to %s", ErrIncompatibleVersion, objName, target))
			}
		}
		child, existed, err := subobjectVersion(target, rels)
		if err != nil {
			return fail(f.Name, err)
		}
		if !existed {
			delete(data, f.Name)
			continue
		}
		if child == nil {
			continue
		}
		switch x := val.(type) {
		case map[string]any:
			err = r.backportChild(x, *child, manifest)
		case []any:
			for _, el := range x {
				if m, ok := el.(map[string]any); ok {
					if err = r.backportChild(m, *child, manifest); err != nil {
						break
					}
				}
			}
		}
		if err != nil {
			return fail(f.Name, err)
		}
	}
	if e.class.Compat != nil {
		if err := e.class.Compat(data, target); err != nil {
			return fail("", err)
		}
	}
	return nil
}

// subobjectVersion is oslo's _get_subobject_version: the child version for
// parent version target along rels (ascending parent versions). existed is
// false when target predates the sub-object; child is nil when target is past
// every row (nothing to do).
func subobjectVersion(target Version, rels []Rel) (child *Version, existed bool, err error) {
	for i, rel := range rels {
		p, err := ParseVersion(rel.Parent)
		if err != nil {
			return nil, false, err
		}
		c := target.Compare(p)
		if c < 0 {
			if i == 0 {
				return nil, false, nil
			}
			v, err := ParseVersion(rels[i-1].Child)
			return &v, true, err
		}
		if c == 0 {
			v, err := ParseVersion(rel.Child)
			return &v, true, err
		}
	}
	return nil, true, nil
}

// backportChild is oslo's _do_subobject_backport for one sub-object
// primitive. Unlike oslo it never relabels a child to a version newer than
// the one it was encoded at (a manifest may name a newer one).
func (r *Registry) backportChild(p map[string]any, to Version, manifest map[string]string) error {
	name, _ := p[r.keyName].(string)
	e := r.entryByName(name)
	if e == nil {
		return fmt.Errorf("%w: %s", ErrUnknownObject, name)
	}
	if to.Major != e.version.Major {
		return &Error{Object: name, Version: to.String(), Err: fmt.Errorf("%w: cannot backport %s to another major", ErrIncompatibleVersion, e.version)}
	}
	if to.Compare(e.version) >= 0 {
		return nil
	}
	data, _ := p[r.keyData].(map[string]any)
	if err := r.makeCompatible(e, data, to, manifest); err != nil {
		return err
	}
	p[r.keyVersion] = to.String()
	return nil
}
