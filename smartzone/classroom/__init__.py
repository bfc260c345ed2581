"""Classes: courses run for a roster of trainees on a live city (docs/courses.md).

roster.py makes the trainees' users, variables.py draws their tasks, observer.py and checks.py
see what each trainee did, progress.py keeps the score, handout.py and export.py write the
papers, session.py runs a class, controls.py and trainer.py apply the trainer's controls;
`smartzone class` (cli/class_cmd.py) and the GUI's Class tab are the fronts.
"""
