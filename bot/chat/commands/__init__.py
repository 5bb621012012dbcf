"""Chat commands: ``parse`` turns ``/incident`` text into typed values without I/O."""
