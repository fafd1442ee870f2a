from hardtofill.cli import app

app()
