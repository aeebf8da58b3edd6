"""HTTP pieces every service shares: ops endpoints and the request middleware."""
