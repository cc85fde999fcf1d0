"""The payments service's resources, one router each."""
