from pkgctl.app import main

main()
