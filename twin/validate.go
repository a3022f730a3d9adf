package twin

// Validate runs the semantic checks over a decoded twin and returns every
// problem found.
func Validate(s *Snapshot) ErrorList {
	return nil
}
