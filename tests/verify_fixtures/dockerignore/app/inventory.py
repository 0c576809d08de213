"""Stock levels, one function per warehouse: enough code for a bytecode cache worth keeping out."""


def warehouse_0(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 0: items below the reorder point of 3."""
    return {item: count for item, count in stock.items() if count < 3}


def warehouse_1(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 1: items below the reorder point of 4."""
    return {item: count for item, count in stock.items() if count < 4}


def warehouse_2(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 2: items below the reorder point of 5."""
    return {item: count for item, count in stock.items() if count < 5}


def warehouse_3(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 3: items below the reorder point of 6."""
    return {item: count for item, count in stock.items() if count < 6}


def warehouse_4(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 4: items below the reorder point of 7."""
    return {item: count for item, count in stock.items() if count < 7}


def warehouse_5(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 5: items below the reorder point of 8."""
    return {item: count for item, count in stock.items() if count < 8}


def warehouse_6(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 6: items below the reorder point of 9."""
    return {item: count for item, count in stock.items() if count < 9}


def warehouse_7(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 7: items below the reorder point of 10."""
    return {item: count for item, count in stock.items() if count < 10}


def warehouse_8(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 8: items below the reorder point of 11."""
    return {item: count for item, count in stock.items() if count < 11}


def warehouse_9(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 9: items below the reorder point of 12."""
    return {item: count for item, count in stock.items() if count < 12}


def warehouse_10(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 10: items below the reorder point of 13."""
    return {item: count for item, count in stock.items() if count < 13}


def warehouse_11(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 11: items below the reorder point of 14."""
    return {item: count for item, count in stock.items() if count < 14}


def warehouse_12(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 12: items below the reorder point of 15."""
    return {item: count for item, count in stock.items() if count < 15}


def warehouse_13(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 13: items below the reorder point of 16."""
    return {item: count for item, count in stock.items() if count < 16}


def warehouse_14(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 14: items below the reorder point of 17."""
    return {item: count for item, count in stock.items() if count < 17}


def warehouse_15(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 15: items below the reorder point of 18."""
    return {item: count for item, count in stock.items() if count < 18}


def warehouse_16(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 16: items below the reorder point of 19."""
    return {item: count for item, count in stock.items() if count < 19}


def warehouse_17(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 17: items below the reorder point of 3."""
    return {item: count for item, count in stock.items() if count < 3}


def warehouse_18(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 18: items below the reorder point of 4."""
    return {item: count for item, count in stock.items() if count < 4}


def warehouse_19(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 19: items below the reorder point of 5."""
    return {item: count for item, count in stock.items() if count < 5}


def warehouse_20(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 20: items below the reorder point of 6."""
    return {item: count for item, count in stock.items() if count < 6}


def warehouse_21(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 21: items below the reorder point of 7."""
    return {item: count for item, count in stock.items() if count < 7}


def warehouse_22(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 22: items below the reorder point of 8."""
    return {item: count for item, count in stock.items() if count < 8}


def warehouse_23(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 23: items below the reorder point of 9."""
    return {item: count for item, count in stock.items() if count < 9}


def warehouse_24(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 24: items below the reorder point of 10."""
    return {item: count for item, count in stock.items() if count < 10}


def warehouse_25(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 25: items below the reorder point of 11."""
    return {item: count for item, count in stock.items() if count < 11}


def warehouse_26(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 26: items below the reorder point of 12."""
    return {item: count for item, count in stock.items() if count < 12}


def warehouse_27(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 27: items below the reorder point of 13."""
    return {item: count for item, count in stock.items() if count < 13}


def warehouse_28(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 28: items below the reorder point of 14."""
    return {item: count for item, count in stock.items() if count < 14}


def warehouse_29(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 29: items below the reorder point of 15."""
    return {item: count for item, count in stock.items() if count < 15}


def warehouse_30(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 30: items below the reorder point of 16."""
    return {item: count for item, count in stock.items() if count < 16}


def warehouse_31(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 31: items below the reorder point of 17."""
    return {item: count for item, count in stock.items() if count < 17}


def warehouse_32(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 32: items below the reorder point of 18."""
    return {item: count for item, count in stock.items() if count < 18}


def warehouse_33(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 33: items below the reorder point of 19."""
    return {item: count for item, count in stock.items() if count < 19}


def warehouse_34(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 34: items below the reorder point of 3."""
    return {item: count for item, count in stock.items() if count < 3}


def warehouse_35(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 35: items below the reorder point of 4."""
    return {item: count for item, count in stock.items() if count < 4}


def warehouse_36(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 36: items below the reorder point of 5."""
    return {item: count for item, count in stock.items() if count < 5}


def warehouse_37(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 37: items below the reorder point of 6."""
    return {item: count for item, count in stock.items() if count < 6}


def warehouse_38(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 38: items below the reorder point of 7."""
    return {item: count for item, count in stock.items() if count < 7}


def warehouse_39(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 39: items below the reorder point of 8."""
    return {item: count for item, count in stock.items() if count < 8}


def warehouse_40(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 40: items below the reorder point of 9."""
    return {item: count for item, count in stock.items() if count < 9}


def warehouse_41(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 41: items below the reorder point of 10."""
    return {item: count for item, count in stock.items() if count < 10}


def warehouse_42(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 42: items below the reorder point of 11."""
    return {item: count for item, count in stock.items() if count < 11}


def warehouse_43(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 43: items below the reorder point of 12."""
    return {item: count for item, count in stock.items() if count < 12}


def warehouse_44(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 44: items below the reorder point of 13."""
    return {item: count for item, count in stock.items() if count < 13}


def warehouse_45(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 45: items below the reorder point of 14."""
    return {item: count for item, count in stock.items() if count < 14}


def warehouse_46(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 46: items below the reorder point of 15."""
    return {item: count for item, count in stock.items() if count < 15}


def warehouse_47(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 47: items below the reorder point of 16."""
    return {item: count for item, count in stock.items() if count < 16}


def warehouse_48(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 48: items below the reorder point of 17."""
    return {item: count for item, count in stock.items() if count < 17}


def warehouse_49(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 49: items below the reorder point of 18."""
    return {item: count for item, count in stock.items() if count < 18}


def warehouse_50(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 50: items below the reorder point of 19."""
    return {item: count for item, count in stock.items() if count < 19}


def warehouse_51(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 51: items below the reorder point of 3."""
    return {item: count for item, count in stock.items() if count < 3}


def warehouse_52(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 52: items below the reorder point of 4."""
    return {item: count for item, count in stock.items() if count < 4}


def warehouse_53(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 53: items below the reorder point of 5."""
    return {item: count for item, count in stock.items() if count < 5}


def warehouse_54(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 54: items below the reorder point of 6."""
    return {item: count for item, count in stock.items() if count < 6}


def warehouse_55(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 55: items below the reorder point of 7."""
    return {item: count for item, count in stock.items() if count < 7}


def warehouse_56(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 56: items below the reorder point of 8."""
    return {item: count for item, count in stock.items() if count < 8}


def warehouse_57(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 57: items below the reorder point of 9."""
    return {item: count for item, count in stock.items() if count < 9}


def warehouse_58(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 58: items below the reorder point of 10."""
    return {item: count for item, count in stock.items() if count < 10}


def warehouse_59(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 59: items below the reorder point of 11."""
    return {item: count for item, count in stock.items() if count < 11}


def warehouse_60(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 60: items below the reorder point of 12."""
    return {item: count for item, count in stock.items() if count < 12}


def warehouse_61(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 61: items below the reorder point of 13."""
    return {item: count for item, count in stock.items() if count < 13}


def warehouse_62(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 62: items below the reorder point of 14."""
    return {item: count for item, count in stock.items() if count < 14}


def warehouse_63(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 63: items below the reorder point of 15."""
    return {item: count for item, count in stock.items() if count < 15}


def warehouse_64(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 64: items below the reorder point of 16."""
    return {item: count for item, count in stock.items() if count < 16}


def warehouse_65(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 65: items below the reorder point of 17."""
    return {item: count for item, count in stock.items() if count < 17}


def warehouse_66(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 66: items below the reorder point of 18."""
    return {item: count for item, count in stock.items() if count < 18}


def warehouse_67(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 67: items below the reorder point of 19."""
    return {item: count for item, count in stock.items() if count < 19}


def warehouse_68(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 68: items below the reorder point of 3."""
    return {item: count for item, count in stock.items() if count < 3}


def warehouse_69(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 69: items below the reorder point of 4."""
    return {item: count for item, count in stock.items() if count < 4}


def warehouse_70(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 70: items below the reorder point of 5."""
    return {item: count for item, count in stock.items() if count < 5}


def warehouse_71(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 71: items below the reorder point of 6."""
    return {item: count for item, count in stock.items() if count < 6}


def warehouse_72(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 72: items below the reorder point of 7."""
    return {item: count for item, count in stock.items() if count < 7}


def warehouse_73(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 73: items below the reorder point of 8."""
    return {item: count for item, count in stock.items() if count < 8}


def warehouse_74(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 74: items below the reorder point of 9."""
    return {item: count for item, count in stock.items() if count < 9}


def warehouse_75(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 75: items below the reorder point of 10."""
    return {item: count for item, count in stock.items() if count < 10}


def warehouse_76(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 76: items below the reorder point of 11."""
    return {item: count for item, count in stock.items() if count < 11}


def warehouse_77(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 77: items below the reorder point of 12."""
    return {item: count for item, count in stock.items() if count < 12}


def warehouse_78(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 78: items below the reorder point of 13."""
    return {item: count for item, count in stock.items() if count < 13}


def warehouse_79(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 79: items below the reorder point of 14."""
    return {item: count for item, count in stock.items() if count < 14}


def warehouse_80(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 80: items below the reorder point of 15."""
    return {item: count for item, count in stock.items() if count < 15}


def warehouse_81(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 81: items below the reorder point of 16."""
    return {item: count for item, count in stock.items() if count < 16}


def warehouse_82(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 82: items below the reorder point of 17."""
    return {item: count for item, count in stock.items() if count < 17}


def warehouse_83(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 83: items below the reorder point of 18."""
    return {item: count for item, count in stock.items() if count < 18}


def warehouse_84(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 84: items below the reorder point of 19."""
    return {item: count for item, count in stock.items() if count < 19}


def warehouse_85(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 85: items below the reorder point of 3."""
    return {item: count for item, count in stock.items() if count < 3}


def warehouse_86(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 86: items below the reorder point of 4."""
    return {item: count for item, count in stock.items() if count < 4}


def warehouse_87(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 87: items below the reorder point of 5."""
    return {item: count for item, count in stock.items() if count < 5}


def warehouse_88(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 88: items below the reorder point of 6."""
    return {item: count for item, count in stock.items() if count < 6}


def warehouse_89(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 89: items below the reorder point of 7."""
    return {item: count for item, count in stock.items() if count < 7}


def warehouse_90(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 90: items below the reorder point of 8."""
    return {item: count for item, count in stock.items() if count < 8}


def warehouse_91(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 91: items below the reorder point of 9."""
    return {item: count for item, count in stock.items() if count < 9}


def warehouse_92(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 92: items below the reorder point of 10."""
    return {item: count for item, count in stock.items() if count < 10}


def warehouse_93(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 93: items below the reorder point of 11."""
    return {item: count for item, count in stock.items() if count < 11}


def warehouse_94(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 94: items below the reorder point of 12."""
    return {item: count for item, count in stock.items() if count < 12}


def warehouse_95(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 95: items below the reorder point of 13."""
    return {item: count for item, count in stock.items() if count < 13}


def warehouse_96(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 96: items below the reorder point of 14."""
    return {item: count for item, count in stock.items() if count < 14}


def warehouse_97(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 97: items below the reorder point of 15."""
    return {item: count for item, count in stock.items() if count < 15}


def warehouse_98(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 98: items below the reorder point of 16."""
    return {item: count for item, count in stock.items() if count < 16}


def warehouse_99(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 99: items below the reorder point of 17."""
    return {item: count for item, count in stock.items() if count < 17}


def warehouse_100(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 100: items below the reorder point of 18."""
    return {item: count for item, count in stock.items() if count < 18}


def warehouse_101(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 101: items below the reorder point of 19."""
    return {item: count for item, count in stock.items() if count < 19}


def warehouse_102(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 102: items below the reorder point of 3."""
    return {item: count for item, count in stock.items() if count < 3}


def warehouse_103(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 103: items below the reorder point of 4."""
    return {item: count for item, count in stock.items() if count < 4}


def warehouse_104(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 104: items below the reorder point of 5."""
    return {item: count for item, count in stock.items() if count < 5}


def warehouse_105(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 105: items below the reorder point of 6."""
    return {item: count for item, count in stock.items() if count < 6}


def warehouse_106(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 106: items below the reorder point of 7."""
    return {item: count for item, count in stock.items() if count < 7}


def warehouse_107(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 107: items below the reorder point of 8."""
    return {item: count for item, count in stock.items() if count < 8}


def warehouse_108(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 108: items below the reorder point of 9."""
    return {item: count for item, count in stock.items() if count < 9}


def warehouse_109(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 109: items below the reorder point of 10."""
    return {item: count for item, count in stock.items() if count < 10}


def warehouse_110(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 110: items below the reorder point of 11."""
    return {item: count for item, count in stock.items() if count < 11}


def warehouse_111(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 111: items below the reorder point of 12."""
    return {item: count for item, count in stock.items() if count < 12}


def warehouse_112(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 112: items below the reorder point of 13."""
    return {item: count for item, count in stock.items() if count < 13}


def warehouse_113(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 113: items below the reorder point of 14."""
    return {item: count for item, count in stock.items() if count < 14}


def warehouse_114(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 114: items below the reorder point of 15."""
    return {item: count for item, count in stock.items() if count < 15}


def warehouse_115(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 115: items below the reorder point of 16."""
    return {item: count for item, count in stock.items() if count < 16}


def warehouse_116(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 116: items below the reorder point of 17."""
    return {item: count for item, count in stock.items() if count < 17}


def warehouse_117(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 117: items below the reorder point of 18."""
    return {item: count for item, count in stock.items() if count < 18}


def warehouse_118(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 118: items below the reorder point of 19."""
    return {item: count for item, count in stock.items() if count < 19}


def warehouse_119(stock: dict[str, int]) -> dict[str, int]:
    """Warehouse 119: items below the reorder point of 3."""
    return {item: count for item, count in stock.items() if count < 3}


def report() -> str:
    stock = {"bolts": 4, "nuts": 12, "washers": 2}
    low = [warehouse_0(stock) for _ in range(1)]
    return f"low stock: {low}"
