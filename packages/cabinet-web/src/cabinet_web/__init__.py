"""cabinet_web"""
