"""Pure ingestion logic: parse bytes to text, cut text into chunks, index the chunks (via ports)."""
