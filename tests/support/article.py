"""The figures of the article of 4 August 2021, which the 7·20 seed reproduces for 29 July."""

#: the article of 2021-08-04, as printed
ARTICLE = {
    "road_collapse_total": "236",
    "road_collapse_handled": "167",
    "silt_sites_cleared": "1247",
    "silt_m3": "2600",
    "garbage_t": "7779",
    "enterprises_stopped": "7630",
    "enterprises_restarted": "7562",
    "composite_restart_rate": "98.75",
    "above_size_total": "282",
    "above_size_restart_share": "99",
    "rescue_party_orgs": "455",
    "rescue_enterprises_groups": "136",
}
ARTICLE_PARAGRAPH = (
    "截至7月29日,高新区居民小区供水供电供气已全部恢复;道路通行已基本恢复,塌陷点236个已处理完成167个,剩余正在加快施工;"
    "路灯、公厕等市政设施正在加快修复;已完成四环内信号灯修复工作;公共区域清运淤泥1247处共2600立方米,清运垃圾杂物7779吨,"
    "已基本清理完毕,防疫消杀工作正持续推进,每天对固定点位进行消杀;复工复产方面,停产7630家,已经恢复7562家,综合复工率98.75%;"
    "规模以上工业企业282家,复产比例为99%。"
)
