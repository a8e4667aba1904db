from bot.staff.app import main

main()
