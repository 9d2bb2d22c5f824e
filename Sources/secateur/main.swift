print("secateur")
