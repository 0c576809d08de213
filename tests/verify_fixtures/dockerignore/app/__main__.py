from app.inventory import report

print(report())
