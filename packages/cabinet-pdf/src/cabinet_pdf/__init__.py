"""cabinet_pdf"""
