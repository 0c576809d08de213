from setuptools import find_packages, setup

REQUIREMENTS = [
    "onnxruntime>=1.18",
    "fastapi>=0.110",
]

setup(
    name="worker",
    packages=find_packages("src"),
    package_dir={"": "src"},
    install_requires=REQUIREMENTS,
)
