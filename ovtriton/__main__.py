from ovtriton.cli import run

run()
