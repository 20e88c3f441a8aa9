"""cabinet_bitrix"""
