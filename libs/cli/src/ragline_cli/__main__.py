from ragline_cli.main import cli

cli()
