from cahier.cli import main

main()
